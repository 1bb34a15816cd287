"""The directory's own bounded thread pool for blocking LDAP calls.

`ModuleApi.defer_to_thread` runs work on Synapse's one reactor thread pool, which
also hashes passwords (bcrypt) and resolves names. A directory that stops answering
holds each thread for up to `timeout_seconds`; enough registrations at once would
fill that pool and stall every login on the process. LDAP calls therefore get a
pool of their own, `lookup_threads` wide: a slow directory queues only LDAP work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from synapse.module_api import ModuleApi
from twisted.python.threadpool import ThreadPool

T = TypeVar("T")


class LdapThreads:
    def __init__(self, api: ModuleApi, size: int) -> None:
        from twisted.internet import reactor  # Synapse's reactor: the process has one

        self._api = api
        self.pool = ThreadPool(minthreads=0, maxthreads=size, name="govchat-ldap")
        self.pool.start()
        reactor.addSystemEventTrigger("during", "shutdown", self.pool.stop)  # type: ignore[attr-defined,arg-type]

    async def run(self, blocking_call: Callable[..., T], *args: Any) -> T:
        """Run `blocking_call(*args)` on this pool; waits in line while every thread is busy."""
        return await self._api.defer_to_threadpool(self.pool, blocking_call, *args)
