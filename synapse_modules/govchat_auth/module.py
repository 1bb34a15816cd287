"""Synapse adapter for registration rules: thin wiring around govchat.emails."""

from __future__ import annotations

import logging
import time
from typing import Any

from synapse.api.errors import Codes, SynapseError
from synapse.module_api import ModuleApi
from synapse.module_api.callbacks.spamchecker_callbacks import RegistrationBehaviour

from govchat.emails import Accepted, Refusal, check_registration_email
from synapse_modules.common.http import GOVCHAT_API_PREFIX
from synapse_modules.common.rate_limit import SharedTokenBucket
from synapse_modules.common.registration_gates import Verdict, apply_email_gates, refusal_sentence
from synapse_modules.common.schema_check import require_schema
from synapse_modules.govchat_auth import mailbox, synapse_adapter, verdict_memo
from synapse_modules.govchat_auth.config import GovChatAuthConfig, parse_govchat_auth_config
from synapse_modules.govchat_auth.metrics import EMAIL_CHECKS, MAILBOX_LIMITED, REGISTRATIONS
from synapse_modules.govchat_auth.servlets import UserAgenciesResource
from synapse_modules.govchat_auth.store import EmailAccountStore, UserAgencyStore

logger = logging.getLogger(__name__)

INTERNAL_ERROR = (
    "Permintaan ditolak kerana ralat dalaman; sila cuba lagi atau hubungi pentadbir. / "
    "Refused because of an internal error; please try again or contact an administrator."
)


class GovChatAuth:
    def __init__(self, config: GovChatAuthConfig, api: ModuleApi) -> None:
        self._config = config
        self._api = api
        require_schema(api, 4)
        self._store = UserAgencyStore(api)
        self._mailboxes = EmailAccountStore(api)
        api.register_password_auth_provider_callbacks(is_3pid_allowed=self.is_3pid_allowed)
        api.register_spam_checker_callbacks(check_registration_for_spam=self.check_registration_for_spam)
        api.register_third_party_rules_callbacks(
            on_add_user_third_party_identifier=self.on_add_user_third_party_identifier,
        )
        api.register_web_resource(f"{GOVCHAT_API_PREFIX}/users/agencies", UserAgenciesResource(api, self._store))
        self._mails_per_mailbox = SharedTokenBucket(
            api, "request_token_mailbox", config.mails_per_address_per_hour, config.mails_per_address_burst, period_ms=3600_000
        )
        synapse_adapter.install(self.email_refusal_sentence, mailbox.MAY_NOT_CHANGE_EMAIL, self.mailbox_mail_wait_ms)

    @staticmethod
    def parse_config(config: dict[str, Any]) -> GovChatAuthConfig:
        return parse_govchat_auth_config(config)

    async def email_verdict(self, address: object) -> Verdict:
        """The plain e-mail rule, then the other modules' gates; once per registration-link request."""
        return await verdict_memo.remembered(address, self._judge_email)

    async def _judge_email(self, address: object) -> Verdict:
        """The plain e-mail rule, then the other modules' gates (external users, directory)."""
        verdict = check_registration_email(address, self._config.agencies)
        if not isinstance(address, str) or (isinstance(verdict, Refusal) and verdict is not Refusal.NOT_GOVERNMENT):
            return verdict  # malformed addresses are never let through by a gate
        return await apply_email_gates(address.lower(), verdict)

    async def mailbox_mail_wait_ms(self, address: str) -> int | None:
        """Count one verification or reset mail to `address`; how long to wait if its bucket is empty.
        Fails closed: a mailbox whose count cannot be kept is sent nothing."""
        try:
            decision = await self._mails_per_mailbox.allow(address)
        except Exception:
            logger.exception("Refusing a request-token: the per-mailbox limit could not be checked")
            raise SynapseError(403, INTERNAL_ERROR, Codes.FORBIDDEN) from None
        if decision.allowed:
            return None
        MAILBOX_LIMITED.inc()
        logger.info("Limited request-token mails to one mailbox (retry in %d ms)", decision.retry_after_ms)
        return decision.retry_after_ms

    async def email_refusal_sentence(self, address: object) -> str | None:
        verdict = await self.email_verdict(address)
        if isinstance(verdict, Accepted):
            EMAIL_CHECKS.labels(outcome="accepted", reason="").inc()
        else:
            EMAIL_CHECKS.labels(outcome="refused", reason=verdict.name.lower() if isinstance(verdict, Refusal) else "gate").inc()
        return refusal_sentence(verdict)

    async def is_3pid_allowed(self, medium: str, address: str, registration: bool) -> bool:
        """The enforcing check: Synapse asks it at request-token time and again at registration."""
        if medium != "email":
            return False  # GovChat identifies people by official e-mail only (R1.2).
        verdict = await self.email_verdict(address)
        if not isinstance(verdict, Accepted):
            reason = verdict.name if isinstance(verdict, Refusal) else "gate"
            logger.info("Refused e-mail 3PID (%s, registration=%s)", reason, registration)
            return False
        return True

    async def check_registration_for_spam(
        self, email_threepid: dict | None, username: str | None, request_info: Any, auth_provider_id: str | None = None
    ) -> RegistrationBehaviour:
        """Claim the registration's mailbox before Synapse creates the account (one mailbox, one account).

        Synapse checks "address in use" before any of several parallel registrations binds
        it; the claim is a single conditional write, so only one of them gets through.
        """
        if not isinstance(email_threepid, dict) or email_threepid.get("medium") != "email":
            return RegistrationBehaviour.ALLOW  # scripted and administrators' accounts carry no e-mail
        address = email_threepid.get("address")
        try:
            claimed = isinstance(address, str) and await self._claim_mailbox(address.lower(), username)
        except Exception:
            logger.exception("Refusing a registration: the mailbox claim failed")
            raise SynapseError(403, INTERNAL_ERROR, Codes.FORBIDDEN) from None
        if not claimed:
            logger.info("Refused a registration: the mailbox is held by another account or registration")
            raise SynapseError(400, mailbox.MAILBOX_IN_USE, Codes.THREEPID_IN_USE)
        return RegistrationBehaviour.ALLOW

    async def _claim_mailbox(self, address: str, username: str | None) -> bool:
        claimant = mailbox.claimant(f"@{username}:{self._api.server_name}" if username else None)
        holder = await self._mailboxes.holder(address)
        active = False
        if holder is not None and not holder.user_id.startswith("?"):
            info = await self._api.get_userinfo_by_id(holder.user_id)
            active = info is not None and not info.is_deactivated
        if not mailbox.may_claim(holder, claimant, active, int(time.time() * 1000)):
            return False
        return await self._mailboxes.claim(address, claimant, int(time.time() * 1000), holder)

    async def on_add_user_third_party_identifier(self, user_id: str, medium: str, address: str) -> None:
        if medium != "email":
            return
        await self._mailboxes.bind(address.lower(), user_id, int(time.time() * 1000))
        verdict = await self.email_verdict(address)
        if not isinstance(verdict, Accepted):
            # Only an administrator can bind such an address; there is no agency to record.
            logger.warning("User %s bound a non-agency e-mail; no agency recorded", user_id)
            return
        await self._store.record(user_id, verdict.address, verdict.agency, int(time.time() * 1000))
        REGISTRATIONS.labels(agency=verdict.agency.domain).inc()
