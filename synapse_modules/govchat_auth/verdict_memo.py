"""One e-mail verdict per registration-link request.

A request-token request is judged twice: first by the wrapper that gives the
bilingual refusal (`synapse_adapter`), then by Synapse itself through
`is_3pid_allowed` inside the same request. With a directory each verdict is an
LDAP look-up, so the first verdict is kept for the rest of that request, keyed
on the address as Synapse normalises it (stripped, lower case). The memo lives
in a context variable set only around the wrapped request: other requests, and
Synapse's later check at `/register`, compute their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

V = TypeVar("V")

_verdicts: ContextVar[dict[str, object] | None] = ContextVar("govchat_email_verdicts", default=None)


@contextmanager
def one_verdict_per_request() -> Iterator[None]:
    """Within this block (one request), `remembered` computes each address's verdict once."""
    token = _verdicts.set({})
    try:
        yield
    finally:
        _verdicts.reset(token)


async def remembered(address: object, compute: Callable[[object], Awaitable[V]]) -> V:
    memo = _verdicts.get()
    if memo is None or not isinstance(address, str):
        return await compute(address)
    key = address.strip().lower()
    if key not in memo:
        memo[key] = await compute(address)
    return memo[key]  # type: ignore[return-value]
