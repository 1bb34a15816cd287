"""How other modules take part in deciding who may register, without copying the e-mail rule.

govchat_auth first applies the plain rule (`govchat.emails.check_registration_email`),
then hands the verdict to each gate in turn. A gate may:
- let an address the rule refused through, as another agency's sponsored user
  (approved external users, R1.3): return `Accepted`;
- refuse an address the rule accepted (no active directory entry, R2.2): return
  the sentence to show, in Malay and English;
- have no opinion: return None.
Gates are registered once per process at module start-up (configuration, not state).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from govchat.emails import Accepted, Refusal

Verdict = Accepted | Refusal | str
EmailGate = Callable[[str, Verdict], Awaitable[Accepted | str | None]]

_gates: list[EmailGate] = []


def add_email_gate(gate: EmailGate) -> None:
    if gate not in _gates:
        _gates.append(gate)


async def apply_email_gates(address: str, verdict: Verdict) -> Verdict:
    for gate in list(_gates):
        decision = await gate(address, verdict)
        if decision is not None:
            verdict = decision
    return verdict


def refusal_sentence(verdict: Verdict) -> str | None:
    if isinstance(verdict, Refusal):
        return verdict.message
    if isinstance(verdict, str):
        return verdict
    return None
