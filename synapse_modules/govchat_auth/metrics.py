"""Registration counters, served on Synapse's metrics listener (R8.3)."""

from prometheus_client import Counter

EMAIL_CHECKS = Counter(
    "govchat_registration_email_checks_total",
    "E-mail addresses checked when asking for a registration link, by outcome and reason",
    ["outcome", "reason"],
)
REGISTRATIONS = Counter(
    "govchat_registrations_total",
    "Accounts that bound an official (or sponsored) e-mail, by agency domain",
    ["agency"],
)
MAILBOX_LIMITED = Counter(
    "govchat_request_token_mailbox_limited_total",
    "Verification or password-reset mails refused because one mailbox was sent too many",
)
