"""matrix-nio clients with end-to-end encryption, as a user's Element would have it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomSendResponse

from tests.harness import GovChatServer, User

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def e2ee_client(server: GovChatServer, user: User, store_dir: Path) -> AsyncClient:
    """Log in a fresh device with a crypto store, upload its keys and do a first sync."""
    store_dir.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    client = AsyncClient(server.base_url, user.user_id, store_path=str(store_dir), config=config)
    answer = await client.login(user.password, device_name="GovChat test")
    assert isinstance(answer, LoginResponse), answer
    if client.should_upload_keys:
        await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    return client


async def sync_until(client: AsyncClient, condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the sync timeout")
        await client.sync(timeout=1000)


async def send_encrypted_text(client: AsyncClient, room_id: str, body: str) -> str:
    """Send like Element: refresh device lists, then encrypt to every member's devices."""
    await client.sync(timeout=0)
    if client.should_query_keys:
        await client.keys_query()
    answer = await client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body}, ignore_unverified_devices=True
    )
    assert isinstance(answer, RoomSendResponse), answer
    return str(answer.event_id)


async def close_all(*clients: Any) -> None:
    for client in clients:
        await client.close()
