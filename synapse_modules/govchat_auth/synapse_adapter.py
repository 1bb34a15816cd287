"""The only place GovChat reaches into Synapse internals (written against Synapse 1.163).

Synapse enforces the rules itself (the `is_3pid_allowed` callback and its password
policy), but answers in fixed English sentences, and with MSC2000's
M_PASSWORD_* codes rather than the specification's M_WEAK_PASSWORD. GovChat
users must be told why in Malay and English, so this adapter:

- runs the e-mail policy before Synapse's e-mail request-token handlers, so a
  refused address gets M_THREEPID_DENIED with GovChat's sentence (and before
  Synapse's own parsing, which would answer several-@ addresses with a bare 400).
  Kept on purpose although `is_3pid_allowed` already enforces the rule: Synapse's
  own refusal is one fixed English sentence ("Your email domain is not authorized
  ..."), while a refused civil servant must learn why, in Malay and English (not a
  government address, an agency not yet on GovChat, no or a disabled directory
  entry). The wrapper's verdict is remembered for the rest of the request
  (`verdict_memo`), so Synapse's own check does not judge, or ask LDAP, again;
- counts the verification and password-reset mails each mailbox is sent, in GovChat's
  shared per-mailbox bucket, before Synapse's request-token handlers: Synapse 1.163 has
  one `rc_3pid_validation` setting for its per-client-address and its per-mailbox
  limiter (`IdentityHandler.ratelimit_request_token_requests`), so the rendered setting
  is the generous per-address one of `registration.onboarding` and the strict
  per-mailbox limit is this wrapper's (429 M_LIMIT_EXCEEDED with Retry-After);
- re-words password-policy refusals as M_WEAK_PASSWORD in both languages;
- refuses every client endpoint that adds, replaces or removes one's own e-mail
  (`/account/3pid`, `/account/3pid/add`, `/account/3pid/delete` and the add flow's
  `requestToken`s) with 403 M_FORBIDDEN and GovChat's sentence. The rendered config
  also sets Synapse's `enable_3pid_changes: false`, which refuses them (in English)
  should this wrapper ever not be installed. Administrators change e-mails through
  Synapse's admin API, which neither touches.

If a Synapse upgrade moves these names, start-up fails here with one line naming
the missing one (`self_test`) and the integration tests that read the sentences
fail; the rules themselves still hold through the public callbacks.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from synapse.api.errors import Codes, LimitExceededError, PasswordRefusedError, SynapseError
from synapse.handlers.password_policy import PasswordPolicyHandler
from synapse.http.site import SynapseRequest
from synapse.rest.client.account import (
    EmailPasswordRequestTokenRestServlet,
    EmailThreepidRequestTokenRestServlet,
    ThreepidAddRestServlet,
    ThreepidDeleteRestServlet,
    ThreepidRestServlet,
)
from synapse.rest.client.register import EmailRegisterRequestTokenRestServlet

from synapse_modules.common.synapse_internals import require_attributes
from synapse_modules.govchat_auth.verdict_memo import one_verdict_per_request

EmailRefusal = Callable[[object], Awaitable["str | None"]]
# Milliseconds until the mailbox may be sent another mail, or None if it may now (and the mail is counted).
MailboxLimit = Callable[[str], Awaitable["int | None"]]

MAILBOX_LIMITED = (
    "Terlalu banyak e-mel pengesahan telah dihantar ke alamat ini; sila cuba lagi kemudian. / "
    "Too many verification mails have been sent to this address; please try again later."
)

_PASSWORD_SENTENCES: dict[str, tuple[str, str]] = {
    Codes.PASSWORD_TOO_SHORT: (
        "Kata laluan mesti sekurang-kurangnya {length} aksara.",
        "The password must be at least {length} characters long.",
    ),
    Codes.PASSWORD_NO_DIGIT: (
        "Kata laluan mesti mengandungi sekurang-kurangnya satu digit.",
        "The password must contain at least one digit.",
    ),
    Codes.PASSWORD_NO_SYMBOL: (
        "Kata laluan mesti mengandungi sekurang-kurangnya satu simbol (contoh: ! @ # ?).",
        "The password must contain at least one symbol (for example ! @ # ?).",
    ),
    Codes.PASSWORD_NO_LOWERCASE: (
        "Kata laluan mesti mengandungi sekurang-kurangnya satu huruf kecil.",
        "The password must contain at least one lower-case letter.",
    ),
    Codes.PASSWORD_NO_UPPERCASE: (
        "Kata laluan mesti mengandungi sekurang-kurangnya satu huruf besar.",
        "The password must contain at least one upper-case letter.",
    ),
}
_GENERIC_PASSWORD_SENTENCE = (
    "Kata laluan ini tidak mematuhi dasar kata laluan GovChat.",
    "This password does not meet GovChat's password policy.",
)


# Client endpoints through which users add, replace or remove their own third-party identifiers.
_THREEPID_CHANGE_SERVLETS: tuple[type, ...] = (
    ThreepidRestServlet,
    ThreepidAddRestServlet,
    ThreepidDeleteRestServlet,
    EmailThreepidRequestTokenRestServlet,
)


_WRAPPED: tuple[tuple[str, object, str], ...] = (
    *((servlet.__name__, servlet, "on_POST") for servlet in _THREEPID_CHANGE_SERVLETS),
    ("EmailRegisterRequestTokenRestServlet", EmailRegisterRequestTokenRestServlet, "on_POST"),
    ("EmailPasswordRequestTokenRestServlet", EmailPasswordRequestTokenRestServlet, "on_POST"),
    ("PasswordPolicyHandler", PasswordPolicyHandler, "validate_password"),
)


def self_test() -> None:
    """Start-up: every Synapse name this adapter wraps or reads still exists (raises naming the first missing)."""
    require_attributes("govchat_auth", "synapse_modules/govchat_auth/synapse_adapter.py", _WRAPPED)


def install(email_refusal: EmailRefusal, threepid_change_refusal: str, mailbox_limit: MailboxLimit) -> None:
    """Install the wrappers; safe to call more than once in one process."""
    self_test()
    for locked_class in _THREEPID_CHANGE_SERVLETS:
        _refuse_threepid_changes(locked_class, threepid_change_refusal)
    # Inside the e-mail rule: a refused address is refused for that reason and counts nothing.
    for limited_class in (EmailRegisterRequestTokenRestServlet, EmailPasswordRequestTokenRestServlet):
        _limit_mails_per_mailbox(limited_class, mailbox_limit)
    # Outermost: an address that could never register is refused for that reason first.
    for servlet_class in (EmailRegisterRequestTokenRestServlet, EmailThreepidRequestTokenRestServlet):
        _refuse_emails_first(servlet_class, email_refusal)
    _reword_password_refusals()


def _refuse_threepid_changes(servlet_class: type, sentence: str) -> None:
    """Wrap on_POST: the official e-mail is the account's identity (R1.2). Phone numbers need no
    wrapper: `is_3pid_allowed` refuses every medium but e-mail, and no SMS sender is configured."""
    original: Callable[[Any, SynapseRequest], Awaitable[Any]] = servlet_class.on_POST  # type: ignore[attr-defined]
    if getattr(original, "govchat_threepid_locked", False):
        return

    async def on_POST(self: Any, request: SynapseRequest) -> Any:
        raise SynapseError(403, sentence, Codes.FORBIDDEN)

    on_POST.govchat_threepid_locked = True  # type: ignore[attr-defined]
    servlet_class.on_POST = on_POST  # type: ignore[attr-defined]


def _refuse_emails_first(servlet_class: type, email_refusal: EmailRefusal) -> None:
    original: Callable[[Any, SynapseRequest], Awaitable[Any]] = servlet_class.on_POST  # type: ignore[attr-defined]
    if getattr(original, "govchat_wrapped", False):
        return

    async def on_POST(self: Any, request: SynapseRequest) -> Any:
        with one_verdict_per_request():
            email = _peek_json_field(request, "email")
            # A request without the field is left to Synapse, which answers it with a 400.
            sentence = None if email is _NO_FIELD else await email_refusal(email)
            if sentence is not None:
                raise SynapseError(403, sentence, Codes.THREEPID_DENIED)
            return await original(self, request)

    on_POST.govchat_wrapped = True  # type: ignore[attr-defined]
    servlet_class.on_POST = on_POST  # type: ignore[attr-defined]


def _limit_mails_per_mailbox(servlet_class: type, mailbox_limit: MailboxLimit) -> None:
    original: Callable[[Any, SynapseRequest], Awaitable[Any]] = servlet_class.on_POST  # type: ignore[attr-defined]
    if getattr(original, "govchat_mailbox_limited", False):
        return

    async def on_POST(self: Any, request: SynapseRequest) -> Any:
        email = _peek_json_field(request, "email")
        if isinstance(email, str) and email.strip():
            retry_after_ms = await mailbox_limit(email.strip().lower())
            if retry_after_ms is not None:
                error = LimitExceededError("govchat_mailbox", retry_after_ms=retry_after_ms)
                error.msg = MAILBOX_LIMITED
                raise error
        return await original(self, request)

    on_POST.govchat_mailbox_limited = True  # type: ignore[attr-defined]
    servlet_class.on_POST = on_POST  # type: ignore[attr-defined]


def _peek_json_field(request: SynapseRequest, field: str) -> object:
    """The field from a JSON body, leaving the body for Synapse to read again."""
    content = request.content
    if content is None:
        return _NO_FIELD
    try:
        content.seek(0)
        body = json.loads(content.read())
    except ValueError:
        return _NO_FIELD
    finally:
        content.seek(0)
    if not isinstance(body, dict) or field not in body:
        return _NO_FIELD
    return body[field]


_NO_FIELD = object()


def _reword_password_refusals() -> None:
    original = PasswordPolicyHandler.validate_password
    if getattr(original, "govchat_wrapped", False):
        return

    def validate_password(self: PasswordPolicyHandler, password: str) -> None:
        try:
            original(self, password)
        except PasswordRefusedError as refusal:
            malay, english = _PASSWORD_SENTENCES.get(refusal.errcode, _GENERIC_PASSWORD_SENTENCE)
            length = self.policy.get("minimum_length", 0)
            sentence = f"{malay} / {english}".format(length=length)
            raise PasswordRefusedError(msg=sentence, errcode=Codes.WEAK_PASSWORD) from None

    validate_password.govchat_wrapped = True  # type: ignore[attr-defined]
    PasswordPolicyHandler.validate_password = validate_password  # type: ignore[method-assign]

