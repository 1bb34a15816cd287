"""A newcomer's first `make run` installs GovChat quietly: the editable install prints no setuptools warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_the_editable_install_prints_no_build_warnings(tmp_path: Path) -> None:
    # The same install the Makefile does, into a throwaway prefix; --ignore-installed, or pip would first
    # uninstall GovChat from the running venv and every later test would lose it.
    answer = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed", "--editable", str(PROJECT), "--prefix", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    assert answer.returncode == 0, answer.stderr
    output = answer.stdout + answer.stderr
    assert "BuildBackendWarning" not in output and "Please be careful" not in output, output
    # A plain path entry to the checkout, not a meta path finder.
    (pth,) = (tmp_path / "lib").glob("python3*/site-packages/__editable__.govchat-*.pth")
    assert pth.read_text(encoding="utf-8").strip() == str(PROJECT)
