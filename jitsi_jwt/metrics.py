"""Prometheus counters on Synapse's own registry (its metrics listener shows them when enabled)."""

from __future__ import annotations

from prometheus_client import Counter

TOKENS_ISSUED = Counter("govchat_gcmeet_tokens_issued_total", "GCMeet Jitsi tokens issued")
TOKENS_REFUSED = Counter(
    "govchat_gcmeet_tokens_refused_total",
    "GCMeet Jitsi token requests refused, by reason",
    ["reason"],
)
VERIFICATIONS = Counter(
    "govchat_gcmeet_verifications_total",
    "GCMeet user_in_room verifications (mod_auth_matrix_user_verification), by verdict",
    ["verdict"],
)
