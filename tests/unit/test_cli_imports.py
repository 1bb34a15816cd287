"""The `govchat` command's modules form no circle of imports: each loads on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

GOVCHAT = Path(__file__).resolve().parents[2] / "govchat"
CLI_MODULES = sorted(path.stem for path in GOVCHAT.glob("cli*.py"))
COMMAND_GROUPS = [name for name in CLI_MODULES if name not in ("cli", "cli_common")]


@pytest.mark.parametrize("module", CLI_MODULES)
def test_each_cli_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    answer = subprocess.run([sys.executable, "-c", f"import govchat.{module}"], capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr


@pytest.mark.parametrize("module", COMMAND_GROUPS)
def test_command_groups_never_import_the_main_command(module: str) -> None:
    # Not even inside a function: that is how the circle was hidden before.
    tree = ast.parse((GOVCHAT / f"{module}.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "govchat.cli" not in imported
