"""One e-mail verdict per registration-link request, and none shared between requests."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from synapse.util.async_helpers import delay_cancellation
from twisted.internet import defer
from twisted.python.failure import Failure

from synapse_modules.govchat_auth import verdict_memo


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits on I/O to completion, as Synapse's reactor would."""
    done = defer.ensureDeferred(coroutine)
    results: list[Any] = []
    done.addBoth(results.append)
    assert results, "the coroutine waited on something"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


class CountingJudge:
    def __init__(self) -> None:
        self.asked: list[object] = []

    async def __call__(self, address: object) -> str:
        self.asked.append(address)
        return "accepted"


async def registration_link_request(judge: CountingJudge, typed: str) -> None:
    """GovChat's wrapper judges the address as typed; then Synapse, inside the same request,
    awaits its `is_3pid_allowed` callback through `delay_cancellation` (a new Deferred)
    with the address normalised."""
    with verdict_memo.one_verdict_per_request():
        await verdict_memo.remembered(typed, judge)
        await delay_cancellation(verdict_memo.remembered(typed.strip().lower(), judge))


def test_one_request_judges_its_address_once() -> None:
    judge = CountingJudge()
    run(registration_link_request(judge, " Siti@MAMPU.gov.my"))
    assert judge.asked == [" Siti@MAMPU.gov.my"]


def test_each_request_judges_afresh() -> None:
    judge = CountingJudge()
    run(registration_link_request(judge, "siti@mampu.gov.my"))
    run(registration_link_request(judge, "siti@mampu.gov.my"))
    assert len(judge.asked) == 2


def test_outside_a_registration_link_request_every_check_judges() -> None:
    """Synapse's checks at /register and when binding the e-mail are never answered from a memo."""
    judge = CountingJudge()
    run(verdict_memo.remembered("siti@mampu.gov.my", judge))
    run(verdict_memo.remembered("siti@mampu.gov.my", judge))
    assert len(judge.asked) == 2
