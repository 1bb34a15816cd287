"""Running the workflow: submitting, deciding, carrying out, notifying, and the periodic job.

The rules themselves are in `workflow` (who may do what) and `forms` (what a form
holds); this is the glue to the store, Synapse and the public-channels module.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from datetime import datetime
from typing import Any

from synapse.module_api import ModuleApi

from govchat.agencies import Agency
from govchat.emails import Accepted, Refusal, check_registration_email
from govchat.malaysia_time import MALAYSIA_TIME
from synapse_modules.applications import forms, messages, metrics, notifications, workflow
from synapse_modules.applications.config import ApplicationsConfig
from synapse_modules.applications.store import Application, ApplicationStore, Person, SubmissionLimitReached
from synapse_modules.common import outbox
from synapse_modules.common.http import RequestRefused
from synapse_modules.common.refusals import WRONG_STATE
from synapse_modules.common.registration_gates import Verdict
from synapse_modules.public_channels.requests import InvalidRequest, NewChannel
from synapse_modules.public_channels.service import Channel, ChannelNotFound, ChannelService
from synapse_modules.public_channels.store import ChannelStore

logger = logging.getLogger(__name__)

WEB_PREFIX = "/_synapse/client/govchat/applications"
SYSTEM_ACTOR = "govchat"


class ApplicationError(RequestRefused):
    """An application request refused."""


NOT_FOUND = ApplicationError(
    404, "M_NOT_FOUND", "Tiada permohonan sedemikian. / There is no such application."
)
NO_OFFICIAL_EMAIL = ApplicationError(
    403,
    "M_FORBIDDEN",
    "Hanya pegawai yang mendaftar dengan e-mel rasmi kerajaan boleh membuat permohonan. / "
    "Only officers registered with an official government e-mail may make applications.",
)


def now_ms() -> int:
    return int(time.time() * 1000)


def invalid(problem: forms.InvalidField) -> ApplicationError:
    return ApplicationError(400, "M_MISSING_PARAM" if problem.missing else "M_INVALID_PARAM", problem.message, problem.field)


class ApplicationService:
    def __init__(self, api: ModuleApi, config: ApplicationsConfig, store: ApplicationStore) -> None:
        self._api = api
        self._config = config
        self.store = store
        # Notices, mails and deactivations are queued and delivered by the main process (see common/outbox.py).
        self._outbox = outbox.outbox_for(api)
        # The public-channels module's Python API, with the config that module was given.
        self._channels = ChannelService(api, config.channels, ChannelStore(api))

    # --- who is asking ------------------------------------------------------------

    async def viewer(self, user_id: str) -> workflow.Viewer:
        head_of = {domain for domain, head in self._config.heads if head == user_id} | await self.store.head_domains(user_id)
        return workflow.Viewer(user_id=user_id, is_admin=await self._api.is_user_admin(user_id), head_of=frozenset(head_of))

    async def official_email(self, user_id: str) -> Accepted | None:
        """The user's registered official e-mail and its agency; None for external users and scripted accounts.

        From GovChat's record of bound mailboxes, not from the user's current 3PIDs.
        """
        for address in await self.store.emails_of_account(user_id):
            verdict = check_registration_email(address, self._config.agencies)
            if isinstance(verdict, Accepted):
                return verdict
        return None

    # --- submitting and reading ---------------------------------------------------

    async def submit(self, user_id: str, body: Any) -> Application:
        now = now_ms()
        try:
            submission = forms.parse_submission(body, self._config.agencies, self._api.server_name, now)
        except forms.InvalidField as problem:
            raise invalid(problem) from None
        own = await self.official_email(user_id)
        if own is None:
            raise NO_OFFICIAL_EMAIL
        if submission.applicant["email"] != own.address:
            # Outcome mails go to this address: it must be the applicant's own, not a third party's.
            raise ApplicationError(
                400, "M_INVALID_PARAM",
                f"Medan applicant.email mesti e-mel akaun anda sendiri ({own.address}). / "
                f"The applicant.email field must be your own account's e-mail ({own.address}).",
                "applicant.email",
            )
        if submission.kind == forms.PUBLIC_CHANNEL and not self._config.channels_enabled:
            raise ApplicationError(
                400, "M_INVALID_PARAM",
                "Saluran awam tidak diaktifkan di pelayan ini. / Public channels are not enabled on this server.", "kind",
            )
        if submission.kind == forms.ACCOUNT_CANCELLATION:
            await self._check_account(submission.details["account"], submission.details["account_email"], own.agency.domain)
        application = Application(
            application_id=f"{forms.FORM_NAMES[submission.kind]}-{secrets.token_hex(6)}",
            kind=submission.kind,
            state=workflow.SUBMITTED,
            applicant=user_id,
            agency=own.agency,
            form={"applicant": submission.applicant, "details": submission.details},
            due_ts=submission.due_ts,
            created_ts=now,
            updated_ts=now,
            result={},
            notified_ts=None,
        )
        day = time.strftime("%Y-%m-%d", time.gmtime(now / 1000))
        try:
            # The heads' notices are queued with the application itself: both are kept, or neither.
            queued = await self.store.insert(
                application, submission.external_emails(), "", day, self._config.max_submissions_per_day,
                outbox=await self._tell_heads(application),
            )
        except SubmissionLimitReached:
            limit = self._config.max_submissions_per_day
            raise ApplicationError(
                429, "M_LIMIT_EXCEEDED",
                f"Anda telah menghantar {limit} permohonan hari ini, had sehari; cuba lagi esok. / "
                f"You have sent {limit} applications today, the daily limit; try again tomorrow.",
            ) from None
        logger.info("Application %s (%s) submitted by %s", application.application_id, application.kind, user_id)
        await self._outbox.kick(queued)
        await self.refresh_metrics()
        return await self._reload(application.application_id)

    async def start_breach_cancellation(self, starter: str, account: str, reason: str, reference: str) -> Application:
        """An A5 application to cancel `account` for a breach of the rules (R1.6), started by an administrator
        from a content report. It belongs to the account's agency, so that agency's head of department endorses
        it; then a server administrator other than `starter` approves it, as for every application, and the
        account is deactivated at once."""
        info = await self._api.get_userinfo_by_id(account)
        if info is None or info.is_deactivated:
            raise ApplicationError(
                409, "M_INVALID_PARAM",
                f"Akaun {account} tidak wujud atau tidak aktif. / The account {account} does not exist or is not active.",
                "account",
            )
        # GovChat's own record of the account's mailbox, never what a user can change.
        emails: list[Any] = list(await self.store.emails_of_account(account))
        agency = await self.agency_of(account, emails)
        if agency is None:
            raise ApplicationError(
                409, "M_INVALID_PARAM",
                f"Agensi akaun {account} tidak diketahui, jadi tiada ketua jabatan boleh menyokong pembatalan. / "
                f"The agency of the account {account} is unknown, so no head of department can endorse a cancellation.",
                "account",
            )
        starter_email = await self.official_email(starter)
        profile = await self._api.get_profile_for_user(starter[1:].split(":", 1)[0])
        now = now_ms()
        today = datetime.fromtimestamp(now / 1000, MALAYSIA_TIME).date().isoformat()
        application = Application(
            application_id=f"{forms.FORM_NAMES[forms.ACCOUNT_CANCELLATION]}-{secrets.token_hex(6)}",
            kind=forms.ACCOUNT_CANCELLATION,
            state=workflow.SUBMITTED,
            applicant=starter,
            agency=agency,
            form={
                "applicant": {
                    "name": profile.display_name or starter,
                    "organisation": "Pentadbir GovChat / GovChat administrators",
                    "email": starter_email.address if starter_email else "",
                },
                "details": {
                    "account": account,
                    "account_email": str(emails[0]) if emails else "",
                    "reason": f"Pelanggaran peraturan GovChat / Breach of GovChat's rules (R9.3): {reason}".strip(),
                    "effective_date": today,
                    "report": reference,
                },
            },
            due_ts=now,
            created_ts=now,
            updated_ts=now,
            result={},
            notified_ts=None,
        )
        # Not counted against the administrator's daily submissions; the heads' notices are queued with it.
        queued = await self.store.insert(
            application, [], f"{reference}: {reason}", today, None, outbox=await self._tell_heads(application)
        )
        logger.info("Breach cancellation %s of %s started by %s from %s", application.application_id, account, starter, reference)
        await self._outbox.kick(queued)
        await self.refresh_metrics()
        return await self._reload(application.application_id)

    async def agency_of(self, user_id: str, emails: list[Any]) -> Agency | None:
        """An officer's agency from their official e-mail; an external user's, their sponsor's (A4)."""
        own = await self.official_email(user_id)
        if own is not None:
            return own.agency
        for email in emails:
            sponsor = await self.store.sponsor_for(str(email), now_ms())
            if sponsor is not None:
                return sponsor
        return None

    async def _check_account(self, account: str, email: str, applicant_agency: str) -> None:
        info = await self._api.get_userinfo_by_id(account)
        if info is None or info.is_deactivated:
            raise ApplicationError(
                400, "M_INVALID_PARAM",
                f"Medan details.account: akaun {account} tidak wujud atau tidak aktif. / "
                f"The details.account field: the account {account} does not exist or is not active.",
                "details.account",
            )
        if await self.store.user_for_email(email) != account:
            raise ApplicationError(
                400, "M_INVALID_PARAM",
                f"Medan details.account_email: {email} bukan e-mel akaun {account}. / "
                f"The details.account_email field: {email} is not the e-mail of the account {account}.",
                "details.account_email",
            )
        if await self._api.is_user_admin(account):
            raise ApplicationError(
                403, "M_FORBIDDEN",
                f"Medan details.account: {account} ialah pentadbir pelayan; akaun pentadbir dibatalkan oleh pentadbir lain "
                "melalui API pentadbir, bukan melalui borang A5. / "
                f"The details.account field: {account} is a server administrator; administrators' accounts are cancelled "
                "by another administrator through the admin API, not with form A5.",
                "details.account",
            )
        agency = await self.store.agency_of_account(account)
        if agency is None or agency.domain != applicant_agency:
            # The head who endorses is the applicant's: the account must be of the same agency.
            raise ApplicationError(
                403, "M_FORBIDDEN",
                f"Medan details.account: akaun {account} bukan daripada agensi anda ({applicant_agency}); "
                "permohonan dibuat oleh agensi akaun itu sendiri. / "
                f"The details.account field: the account {account} is not of your agency ({applicant_agency}); "
                "its own agency applies.",
                "details.account",
            )

    async def visible(self, viewer: workflow.Viewer, application_id: str) -> Application:
        application = await self.store.get(application_id)
        if application is None or not workflow.may_see(viewer, application.applicant, application.agency.domain):
            raise NOT_FOUND
        return application

    async def listing(self, viewer: workflow.Viewer, state: str | None, kind: str | None, limit: int) -> list[Application]:
        if state is not None and state not in workflow.STATES:
            raise ApplicationError(400, "M_INVALID_PARAM", f"Parameter state mesti salah satu daripada {', '.join(workflow.STATES)}. / The state parameter must be one of {', '.join(workflow.STATES)}.", "state")
        if kind is not None and kind not in forms.KINDS:
            raise ApplicationError(400, "M_INVALID_PARAM", f"Parameter kind mesti salah satu daripada {', '.join(forms.KINDS)}. / The kind parameter must be one of {', '.join(forms.KINDS)}.", "kind")
        return await self.store.listing(viewer.is_admin, viewer.user_id, viewer.head_of, state, kind, limit)

    def present(self, application: Application) -> dict[str, Any]:
        return application.as_dict(now_ms(), self._config.review_period_days)

    # --- deciding -------------------------------------------------------------------

    async def act(self, viewer: workflow.Viewer, application_id: str, action: str, body: Any) -> Application:
        application = await self.visible(viewer, application_id)
        refusal = workflow.refusal_for(action, viewer, application.applicant, application.agency.domain, application.state)
        if refusal is not None:
            raise ApplicationError(refusal.code, refusal.errcode, refusal.message)
        try:
            note = forms.parse_note(body, required=action == workflow.REJECT)
        except forms.InvalidField as problem:
            raise invalid(problem) from None
        if action == workflow.CARRY_OUT:
            await self.carry_out(application, viewer.user_id, body)
            return await self._reload(application_id)
        moved = await self.store.transition(
            application_id, application.state, workflow.NEXT_STATE[action], viewer.user_id, workflow.NEXT_STATE[action], note, now_ms()
        )
        if moved is None:  # someone else decided first
            raise ApplicationError(409, WRONG_STATE, workflow.ALREADY_DECIDED.message)
        logger.info("Application %s: %s by %s", application_id, action, viewer.user_id)
        application = await self._reload(application_id)
        if action == workflow.APPROVE:
            await self.carry_out(application, viewer.user_id, {})
        elif action == workflow.REJECT:
            await self.notify(application)
        await self.refresh_metrics()
        return await self._reload(application_id)

    # --- carrying out -----------------------------------------------------------------

    async def carry_out(self, application: Application, actor: str, body: Any) -> None:
        """Do what was approved; failures are recorded in the audit trail and leave it approved for a retry."""
        try:
            if application.kind == forms.EXTERNAL_USERS:
                count = len(application.form["details"]["users"])
                note = f"{count} alamat boleh mendaftar hingga / addresses may register until {messages.format_moment(application.due_ts or 0)}"
                await self._finish(application, actor, note, None)
            elif application.kind == forms.ACCOUNT_CANCELLATION:
                await self._cancel_account(application, actor)
            else:
                await self._create_channel(application, actor, body)
        except ApplicationError as problem:
            await self.store.add_audit(application.application_id, actor, "carry_out_failed", problem.message, now_ms())
        except Exception as error:  # never lose the approval: record and let an administrator retry
            logger.exception("Carrying out application %s failed", application.application_id)
            await self.store.add_audit(application.application_id, actor, "carry_out_failed", str(error)[:500], now_ms())

    async def _finish(
        self, application: Application, actor: str, note: str, result: dict[str, Any] | None,
        owed: list[outbox.OutboxItem] | None = None,
    ) -> None:
        """Mark it carried out, queueing what that owes (`owed`, e.g. a deactivation) in the same transaction."""
        queued = await self.store.transition(
            application.application_id, workflow.APPROVED, workflow.CARRIED_OUT, actor, workflow.CARRIED_OUT, note, now_ms(), result,
            outbox=owed,
        )
        if queued is not None:
            await self._outbox.kick(queued)
            await self.notify(await self._reload(application.application_id))

    async def _cancel_account(self, application: Application, actor: str) -> None:
        if (application.due_ts or 0) > now_ms():
            if not any(entry.action == "scheduled" for entry in application.audit):
                when = messages.format_moment(application.due_ts or 0)
                await self.store.add_audit(application.application_id, actor, "scheduled", f"{when} (UTC+8)", now_ms())
            return
        account = application.form["details"]["account"]
        info = await self._api.get_userinfo_by_id(account)
        if info is None:
            raise ApplicationError(409, "M_NOT_FOUND", f"Akaun {account} tidak wujud. / The account {account} does not exist.")
        owed: list[outbox.OutboxItem] = []
        if info.is_deactivated:
            note = f"{account} sudah tidak aktif / was already deactivated"
        else:
            # Deactivation is main-process work: queued with the state change, done by the main process.
            owed.append(outbox.deactivation(account, self._approver(application) or actor))
            note = f"{account} dinyahaktifkan / deactivated"
            logger.info("Application %s: deactivating %s", application.application_id, account)
        await self._finish(application, actor, note, {"account": account}, owed)

    async def _create_channel(self, application: Application, actor: str, body: Any) -> None:
        details = application.form["details"]
        alias = body.get("channel_alias") if isinstance(body, dict) and body.get("channel_alias") else details["channel_alias"]
        owner_email = details["owner_email"]
        owner = await self.store.user_for_email(owner_email)
        if owner is not None:
            info = await self._api.get_userinfo_by_id(owner)
            owner = owner if info is not None and not info.is_deactivated else None
        new = NewChannel(name=details["channel_name"], alias_localpart=str(alias), topic="", owners=(owner,) if owner else ())
        channel = await self._channel_of_an_interrupted_step(new, owner, _approved_ts(application))
        if channel is None:
            try:
                channel = await self._channels.create_channel(new)
            except InvalidRequest as problem:
                raise ApplicationError(409, "M_INVALID_PARAM", problem.message, "channel_alias") from None
        else:
            logger.info("Application %s: completing the interrupted creation of %s", application.application_id, channel["room_id"])
        result = {"room_id": channel["room_id"], "alias": channel["alias"], "owner": owner}
        if owner is None:
            # The owner has no account yet: the channel is created now and they are appointed when they register.
            result["owner_pending"] = owner_email
        await self._finish(application, actor, f"{channel['alias']} {channel['room_id']}", result)

    async def _channel_of_an_interrupted_step(self, new: NewChannel, owner: str | None, approved_ts: int) -> dict[str, Any] | None:
        """The channel an earlier carry-out of this application created before it stopped (the process
        died, or the owner's join failed), with its owner now appointed; None if there is none.

        Creating a channel is several writes (room, directory, owner's join) and the application is
        marked carried out after them: carrying it out again must finish that channel, never make a
        second one nor leave one without its owner. A channel under the alias qualifies only if it is
        a GovChat channel, open, has no owner but the application's, and was created after the approval
        (so never a channel an administrator made before)."""
        channel = await self._adoptable_channel(new, approved_ts)
        if channel is None:
            return None
        if owner is not None:
            return await self._channels.add_owner(channel.room_id, owner)  # joins; power levels and marker: idempotent
        return await self._channels.describe(channel)

    async def _adoptable_channel(self, new: NewChannel, approved_ts: int) -> Channel | None:
        try:
            channel = await self._channels.find_channel(new.alias(self._api.server_name))
        except ChannelNotFound:
            return None
        marker = channel.marker
        if marker.is_info or marker.archived or not marker.owners <= set(new.owners):
            return None
        state = await self._api.get_room_state(channel.room_id, [("m.room.create", "")])
        create = state.get(("m.room.create", ""))
        if create is None or create.sender != self._channels.system_user or create.origin_server_ts < approved_ts:
            return None
        return channel

    async def _half_created_channel(self, application: Application) -> bool:
        """Whether a failed channel carry-out left its channel behind (e.g. the owner's join failed)."""
        if application.kind != forms.PUBLIC_CHANNEL:
            return False
        details = application.form["details"]
        new = NewChannel(name=details["channel_name"], alias_localpart=str(details["channel_alias"]), topic="", owners=())
        owner = await self.store.user_for_email(details["owner_email"])
        adoptable = await self._adoptable_channel(dataclasses.replace(new, owners=(owner,) if owner else ()), _approved_ts(application))
        return adoptable is not None

    async def resume_interrupted_work(self) -> None:
        """Approvals whose carrying out was interrupted (no failure recorded, nothing for a while), and
        channel owners who registered while their appointment could not be made: finish them."""
        for application_id in await self.store.approved_since(now_ms() - INTERRUPTED_AFTER_MS, (forms.PUBLIC_CHANNEL, forms.EXTERNAL_USERS)):
            application = await self.store.get(application_id)
            if application is None:
                continue
            if workflow_failed_since_approval(application) and not await self._half_created_channel(application):
                continue  # a recorded failure (e.g. the alias was taken meanwhile) waits for an administrator
            logger.info("Application %s: resuming its interrupted carrying out", application_id)
            await self.carry_out(application, SYSTEM_ACTOR, {})
        waiting = await self.store.listing(True, "", (), workflow.CARRIED_OUT, forms.PUBLIC_CHANNEL, 10_000)
        for email in sorted({str(a.result["owner_pending"]) for a in waiting if a.result.get("owner_pending")}):
            user_id = await self._active_account_for_email(email)
            if user_id is None:
                continue
            try:
                await self.appoint_pending_owner(user_id, email)
            except Exception:
                logger.exception("Appointing %s as a pending channel owner failed again; retried at the next run", user_id)

    async def appoint_pending_owner(self, user_id: str, email: str) -> None:
        """Called when someone binds an e-mail: appoint them owner of channels waiting for them (A6)."""
        waiting = await self.store.listing(True, "", (), workflow.CARRIED_OUT, forms.PUBLIC_CHANNEL, 10_000)
        for application in waiting:
            if application.result.get("owner_pending") != email:
                continue
            room_id = application.result["room_id"]
            await self._channels.add_owner(room_id, user_id)
            result = {**application.result, "owner": user_id}
            result.pop("owner_pending")
            await self.store.transition(
                application.application_id, workflow.CARRIED_OUT, workflow.CARRIED_OUT, SYSTEM_ACTOR, "owner_appointed", user_id, now_ms(), result
            )
            logger.info("Application %s: appointed %s owner of %s", application.application_id, user_id, room_id)

    def _approver(self, application: Application) -> str | None:
        approvals = [entry.actor for entry in application.audit if entry.action == workflow.APPROVED]
        return approvals[-1] if approvals else None

    # --- telling people ---------------------------------------------------------------------

    def link(self, application_id: str) -> str:
        return f"{self._api.public_baseurl.rstrip('/')}{WEB_PREFIX}/{application_id}"

    async def notify(self, application: Application) -> None:
        """Tell the applicant by e-mail and server notice: queued (retried until delivered) with the audit entry."""
        message = messages.outcome(application, self.link(application.application_id))
        audience = notifications.about_outcome(application.applicant, application.form["applicant"]["email"])
        note = ", ".join([f"e-mel/e-mail {email}" for email in audience.mails] + [f"notis/notice {user}" for user in audience.notices])
        owed = _owed(audience, message)
        await self._outbox.kick(await self.store.mark_notified(application.application_id, note, now_ms(), owed))

    async def _tell_heads(self, application: Application) -> list[outbox.OutboxItem]:
        """The notices owed to the agency's heads of department about a new application."""
        message = messages.waiting_for_head(application, self.link(application.application_id))
        heads = [*self._config.heads, *await self.store.heads()]
        return _owed(notifications.about_new_application(application.agency.domain, application.applicant, heads), message)

    # --- registration gate (A4) ----------------------------------------------------------

    async def email_gate(self, address: str, verdict: Verdict) -> Accepted | str | None:
        """Let an approved external address register, as a user of its sponsoring agency, until its end date."""
        if verdict is not Refusal.NOT_GOVERNMENT:
            return None
        try:
            agency = await self.store.sponsor_for(address, now_ms())
        except Exception:
            logger.exception("Checking external-user permission for an address failed; refusing")
            return None  # the refusal stands
        return Accepted(address=address, agency=agency) if agency is not None else None

    # --- the periodic job -------------------------------------------------------------------

    async def run_due_work(self) -> None:
        """Cancellations that fall due (A5), interrupted approvals, reminders and ended permissions (A4), metrics."""
        await self.resume_interrupted_work()
        for application_id in await self.store.due_cancellations(now_ms()):
            application = await self.store.get(application_id)
            if application is not None:
                await self.carry_out(application, SYSTEM_ACTOR, {})
        for person in await self.store.people_not_yet_reminded():
            if workflow.reminder_due(person.end_ts, now_ms(), self._config.reminder_days):
                await self._remind(person)
        for person in await self.store.people_ended(now_ms()):
            await self._end_permission(person)
        await self.refresh_metrics()

    async def _active_account_for_email(self, email: str) -> str | None:
        """The active account GovChat's record binds the address to (never what a user could change)."""
        user_id = await self.store.user_for_email(email)
        if user_id is None:
            return None
        info = await self._api.get_userinfo_by_id(user_id)
        return user_id if info is not None and not info.is_deactivated else None

    async def _remind(self, person: Person) -> None:
        user_id = await self._active_account_for_email(person.email)
        if user_id is None:
            return  # not registered (yet): no account to warn about; asked again on the next run
        message = messages.permission_ending(person)
        owed = _owed(notifications.about_permission_ending(person.email, user_id), message)
        note = f"{person.email}: e-mel/e-mail, notis/notice {user_id}"
        await self._outbox.kick(await self.store.mark_person(person, "reminded_ts", now_ms(), "reminded", note, owed))

    async def _end_permission(self, person: Person) -> None:
        user_id = await self._active_account_for_email(person.email)
        note = f"{person.email}: tiada akaun / no account"
        owed: list[outbox.OutboxItem] = []
        if user_id is not None:
            application = await self.store.get(person.application_id)
            by = (self._approver(application) if application else None) or user_id
            owed.append(outbox.deactivation(user_id, by))
            note = f"{person.email}: {user_id} dinyahaktifkan / deactivated"
            logger.info("External user %s reached the end of their permission; deactivating", user_id)
        await self._outbox.kick(await self.store.mark_person(person, "ended_ts", now_ms(), "permission_ended", note, owed))

    async def refresh_metrics(self) -> None:
        if not self._api.should_run_background_tasks():
            return
        try:
            cutoff = now_ms() - self._config.review_period_days * workflow.DAY_MS
            metrics.publish(*await self.store.counts(cutoff))
        except Exception:
            logger.warning("Could not refresh application metrics", exc_info=True)

    async def _reload(self, application_id: str) -> Application:
        application = await self.store.get(application_id)
        assert application is not None
        return application


# How long an approval may sit without its carrying out before the periodic job finishes it: longer
# than any carrying out takes, so the job never races the request that is still doing it.
INTERRUPTED_AFTER_MS = 60_000


def _approved_ts(application: Application) -> int:
    approvals = [entry.ts for entry in application.audit if entry.action == workflow.APPROVED]
    return approvals[-1] if approvals else application.updated_ts


def workflow_failed_since_approval(application: Application) -> bool:
    approvals = [index for index, entry in enumerate(application.audit) if entry.action == workflow.APPROVED]
    since = approvals[-1] if approvals else 0
    return any(entry.action == "carry_out_failed" for entry in application.audit[since:])


def _owed(audience: notifications.Audience, message: messages.Message) -> list[outbox.OutboxItem]:
    """The outbox rows that tell `audience` the message: e-mails first, then server notices."""
    mails = [outbox.mail(address, message.subject, message.html, message.text) for address in audience.mails]
    return mails + [outbox.notice(user_id, f"{message.subject}\n\n{message.text}") for user_id in audience.notices]
