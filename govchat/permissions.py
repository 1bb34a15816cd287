"""The data folder is for the GovChat service account only (R9.1).

It holds Synapse's database (access tokens in clear, administrators' too), mails with
verification and reset links, govchat.yaml (LDAP bind password, meeting secret),
secrets.yaml, the signing key and the bot's crypto store. GovChat creates everything
in it owner-only (`OWNER_ONLY_UMASK`, inherited by Synapse and the bot), and at every
start names what another local user could read, without changing it: the operator
may have loosened a file on purpose, and should know.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_UMASK = 0o077
SHOWN_PATHS = 5


def owner_only_from_now_on() -> None:
    """Files and folders this process and its children create are owner-only."""
    os.umask(OWNER_ONLY_UMASK)


def loose_paths(data_dir: Path) -> list[Path]:
    """The data folder and everything in it that group or others may read, write or enter."""
    found = []
    candidates = [data_dir, *sorted(data_dir.rglob("*"))] if data_dir.exists() else []
    for path in candidates:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # removed while we looked (a mail being moved, a journal)
            continue
        if stat.S_ISLNK(mode):
            continue
        if mode & 0o077:
            found.append(path)
    return found


def loose_permissions_warning(data_dir: Path) -> str | None:
    """One warning for the operator, or None when everything is owner-only."""
    loose = loose_paths(data_dir)
    if not loose:
        return None
    shown = ", ".join(str(path.relative_to(data_dir)) or "." for path in loose[:SHOWN_PATHS])
    more = f" and {len(loose) - SHOWN_PATHS} more" if len(loose) > SHOWN_PATHS else ""
    return (
        f"govchat: WARNING: {len(loose)} path(s) in {data_dir} can be read or entered by other users of this machine "
        f"({shown}{more}). They hold access tokens, mailed sign-in links and secrets. "
        f"Fix with: chmod -R go-rwx {data_dir}"
    )
