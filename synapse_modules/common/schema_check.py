"""Start-up check that GovChat's tables are recent enough for this code.

Modules never create tables (`govchat/schema.py` does, once, before Synapse
starts); each one checks the recorded version when Synapse loads it, so a
process started on an old database stops at once with one line saying what to
run, instead of failing at the first request.
"""

from __future__ import annotations

from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError

from govchat import schema
from synapse_modules.common import synapse_internals
from synapse_modules.common.synapse_internals import database_config

# One look per process: the version cannot go down while Synapse runs.
_checked: dict[str, int] = {}


def schema_problem(found: int, needed: int) -> str | None:
    """The operator's one line when the database is older than the code; None when it is recent enough."""
    if found >= needed:
        return None
    return (
        f"GovChat's tables are at version {found}, this code needs {needed}: "
        "start GovChat with `govchat run` or run `govchat schema upgrade`"
    )


def require_schema(api: ModuleApi, needed: int) -> None:
    """Refuse to start (ConfigError, one line) unless the database has GovChat's schema `needed` or later.

    Every module calls this first, so it also runs the self-test of the shared Synapse
    internals (server notices, deactivation, joins, sign-out) that every module's outbox uses."""
    synapse_internals.self_test(api)
    config = database_config(api)
    key = repr(sorted(config.get("args", {}).items())) if isinstance(config.get("args"), dict) else repr(config)
    if key not in _checked:
        _checked[key] = schema.database_version(config)
    problem = schema_problem(_checked[key], needed)
    if problem is not None:
        raise ConfigError(problem)
