"""Synapse adapter for the staff directory: registers callbacks, asks the directory, applies `rules`.

- e-mail gate (`add_email_gate`): an address in a domain with a directory registers
  only with an active entry; an unreachable directory refuses with "try again later";
- `get_displayname_for_registration`: the account is created with the directory's name;
- `on_add_user_third_party_identifier`: the name is recorded (locked where configured);
- the profile lock (`synapse_adapter`) and `check_event_allowed` keep it, globally and per room;
- the sync, periodic on the background-tasks worker and on an administrator's request.

Every callback fails closed: an unexpected error refuses (and is logged), never crashes Synapse.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.events import EventBase
from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError
from synapse.types import StateMap

from govchat.emails import Accepted
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.registration_gates import Verdict, add_email_gate
from synapse_modules.common.schema_check import require_schema
from synapse_modules.common.synapse_internals import pass_only_the_state_the_rules_read
from synapse_modules.directory import ldap_directory, rules, synapse_adapter
from synapse_modules.directory.config import (
    DirectoryAgency,
    DirectoryConfig,
    DirectoryConfigProblem,
    directory_for,
    parse_directory_config,
)
from synapse_modules.directory.ldap_threads import LdapThreads
from synapse_modules.directory.metrics import REGISTRATION_LOOKUPS
from synapse_modules.directory.servlets import DirectorySyncResource
from synapse_modules.directory.store import DirectoryStore
from synapse_modules.directory.sync import DirectorySync

logger = logging.getLogger(__name__)

# A registration asks the directory at registration (Synapse re-checks the address),
# for the name and when the e-mail is bound, within the same `/register` request on
# the same process; one active answer serves them all. Kept for a few seconds only,
# per process: a person disabled in the directory cannot start or finish a
# registration more than LOOKUP_CACHE_SECONDS later (docs/directory.md), and refusals
# are never remembered, so a person just added to the directory may retry at once.
LOOKUP_CACHE_SECONDS = 5
INTERNAL_ERROR = (
    "Permintaan ditolak kerana ralat dalaman; sila cuba lagi atau hubungi pentadbir. / "
    "Refused because of an internal error; please try again or contact an administrator."
)


class GovChatDirectory:
    def __init__(self, config: DirectoryConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        require_schema(api, 4)
        synapse_adapter.self_test(api)
        self._store = DirectoryStore(api)
        self._ldap = LdapThreads(api, config.lookup_threads)
        self._sync = DirectorySync(api, config, self._store, self._ldap)
        self._recent: dict[str, tuple[float, rules.DirectoryEntry]] = {}
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/directory/sync", DirectorySyncResource(api, self._sync))
        if not config.enabled:
            return
        add_email_gate(self.email_gate)
        api.register_password_auth_provider_callbacks(get_displayname_for_registration=self.get_displayname_for_registration)
        api.register_third_party_rules_callbacks(
            on_add_user_third_party_identifier=self.on_add_user_third_party_identifier,
            check_event_allowed=self.check_event_allowed,
        )
        pass_only_the_state_the_rules_read(api)  # so INFO's rules do not load every member per event
        synapse_adapter.install(self.name_change_refusal)
        # Only on the process configured for background tasks (elsewhere Synapse would log a warning).
        if api.should_run_background_tasks():
            api.looping_background_call(self._sync.run_periodically, config.sync_interval_minutes * 60_000, desc="govchat_directory_sync")

    @staticmethod
    def parse_config(config: dict[str, Any]) -> DirectoryConfig:
        try:
            return parse_directory_config(config)
        except DirectoryConfigProblem as problem:
            raise ConfigError(f"directory: {problem}") from None

    # --- registration ---------------------------------------------------------

    async def email_gate(self, address: str, verdict: Verdict) -> str | None:
        if not isinstance(verdict, Accepted):
            return None  # only addresses the rule (or another gate) accepted need an entry
        agency = self._directory_of(verdict.address)
        if agency is None:
            return None
        try:
            entry = await self._lookup(agency, verdict.address)
        except rules.DirectoryUnavailable as error:
            REGISTRATION_LOOKUPS.labels(outcome="unavailable").inc()
            logger.warning("Directory of %s unavailable; refusing registration for now: %s", agency.domain, error)
            return rules.DIRECTORY_UNAVAILABLE
        except Exception:
            REGISTRATION_LOOKUPS.labels(outcome="unavailable").inc()
            logger.exception("Directory look-up for %s failed; refusing registration for now", agency.domain)
            return rules.DIRECTORY_UNAVAILABLE
        refusal = rules.registration_refusal(entry)
        REGISTRATION_LOOKUPS.labels(outcome="refused" if refusal else "active").inc()
        if refusal:
            logger.info("Refused registration in %s: no active directory entry", agency.domain)
        return refusal

    async def get_displayname_for_registration(self, uia_results: dict[str, Any], params: dict[str, Any]) -> str | None:
        address = _registered_email(uia_results)
        agency = self._directory_of(address) if address else None
        if address is None or agency is None:
            return None
        # An unavailable directory raises: Synapse then refuses the registration (fails closed).
        return rules.display_name_from(await self._lookup(agency, address))

    async def on_add_user_third_party_identifier(self, user_id: str, medium: str, address: str) -> None:
        agency = self._directory_of(address.lower()) if medium == "email" else None
        if agency is None:
            return
        try:
            name = rules.display_name_from(await self._lookup(agency, address.lower()))
        except Exception:
            if not agency.lock_display_name:
                logger.exception("Could not record the directory name of %s (names are not locked in %s)", user_id, agency.domain)
                return
            # Fail closed: the account was just created under the directory's name (its
            # look-up refuses the registration when the directory is down), so lock that.
            logger.exception("Directory unavailable while binding the e-mail of %s; locking the name it registered with", user_id)
            name = await self._registered_name(user_id)
            await self._store.record_name(user_id, address.lower(), name, True, int(time.time() * 1000))
            return
        if name is not None:
            await self._store.record_name(user_id, address.lower(), name, agency.lock_display_name, int(time.time() * 1000))

    # --- the display-name lock -------------------------------------------------

    async def name_change_refusal(self, user_id: str, new_name: object) -> str | None:
        try:
            return rules.name_change_refusal(await self._store.locked_name(user_id), new_name)
        except Exception:
            logger.exception("Refusing display-name change of %s: the lock check failed", user_id)
            return INTERNAL_ERROR

    async def check_event_allowed(self, event: EventBase, state: StateMap[EventBase]) -> tuple[bool, dict | None]:
        if event.type != "m.room.member" or event.get_state_key() != event.sender or not self._api.is_mine(event.sender):
            return True, None
        try:
            locked = await self._store.locked_name(event.sender)
            refusal = rules.member_event_refusal(
                event.sender, event.get_state_key(), event.content.get("membership"), event.content.get("displayname"), locked
            )
        except Exception:
            logger.exception("Refusing member event %s: the name lock check failed", event.event_id)
            raise SynapseError(403, INTERNAL_ERROR, Codes.FORBIDDEN) from None
        if refusal is not None:
            logger.info("Refused a room display name for %s in %s: the name is locked", event.sender, event.room_id)
            raise SynapseError(403, refusal, Codes.FORBIDDEN)
        return True, None

    # --- helpers ---------------------------------------------------------------

    async def _registered_name(self, user_id: str) -> str:
        """The account's display name now; "" (which no change can match: every change is
        refused until the next registration of the name) if even that cannot be read."""
        try:
            profile = await self._api.get_profile_for_user(user_id[1:].split(":", 1)[0])
            return rules.name_or_empty(profile.display_name)
        except Exception:
            logger.exception("Could not read the display name of %s; locking it to no name", user_id)
            return ""

    def _directory_of(self, address: str) -> DirectoryAgency | None:
        return directory_for(address.rpartition("@")[2], self._config.agencies)

    async def _lookup(self, agency: DirectoryAgency, address: str) -> rules.DirectoryEntry | None:
        now = time.monotonic()
        cached = self._recent.get(address)
        if cached is not None and now - cached[0] < LOOKUP_CACHE_SECONDS:
            return cached[1]
        entry = await self._ldap.run(ldap_directory.lookup, agency, address)
        self._recent = {key: value for key, value in self._recent.items() if now - value[0] < LOOKUP_CACHE_SECONDS}
        if entry is not None and entry.active:
            self._recent[address] = (now, entry)
        return entry


def _registered_email(uia_results: dict[str, Any]) -> str | None:
    identity = uia_results.get("m.login.email.identity")
    if not isinstance(identity, dict) or identity.get("medium") != "email" or not isinstance(identity.get("address"), str):
        return None
    return str(identity["address"]).lower()
