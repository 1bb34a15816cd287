"""Bot-GovChat's process: account, end-to-end encrypted client, sync loop.

Started by `govchat run` beside Synapse; reads the same settings file.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MegolmEvent, RoomMessageText
from prometheus_client import start_http_server

from bots.pkpa_bot.account import AccountError, load_or_create_account
from bots.pkpa_bot.answered import AnsweredLog
from bots.pkpa_bot.callbacks import BotCallbacks
from bots.pkpa_bot.library_follower import LibraryFollower
from bots.pkpa_bot.ratelimit import RateLimiter
from bots.pkpa_bot.search import SearchEngine
from govchat.permissions import owner_only_from_now_on
from govchat.secrets import ensure_secrets
from govchat.settings import Settings, SettingsError, data_dir_from_env, load_settings, port_from_env

logger = logging.getLogger("pkpa_bot")
RECONNECT_DELAY_SECONDS = 2.0
# After a restart, questions asked while the bot was down are still answered if
# this recent; the answered log makes sure none is answered twice.
RESTART_GRACE_MS = 5 * 60 * 1000
SYNC_TIMEOUT_MS = 30_000


async def run_bot(settings: Settings) -> None:
    bot_settings = settings.values["bot"]
    homeserver = f"http://127.0.0.1:{settings.port}"
    bot_dir = settings.data_dir / "bot"
    credentials_path = bot_dir / "credentials.json"
    first_start = not credentials_path.exists()
    shared_secret = ensure_secrets(settings.data_dir)["registration_shared_secret"]
    credentials = load_or_create_account(homeserver, shared_secret, bot_settings["localpart"], credentials_path)

    store = bot_dir / "store"
    store.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    client = AsyncClient(homeserver, credentials.user_id, device_id=credentials.device_id, store_path=str(store), config=config)
    client.restore_login(credentials.user_id, credentials.device_id, credentials.access_token)
    if first_start:
        await client.set_displayname(bot_settings["display_name"])

    answered = AnsweredLog(bot_dir / "answered.sqlite")
    limiter = RateLimiter(per_minute=bot_settings["rate_limit_per_minute"], burst=bot_settings["rate_limit_burst"])
    now_ms = int(time.time() * 1000)
    # On the very first start, history is not the bot's business.
    not_before_ms = now_ms if first_start else now_ms - RESTART_GRACE_MS
    callbacks = BotCallbacks(client, SearchEngine(), answered, limiter, bot_settings["display_name"], not_before_ms)
    client.add_event_callback(callbacks.on_invite, InviteMemberEvent)  # type: ignore[arg-type]
    client.add_event_callback(callbacks.on_message, RoomMessageText)  # type: ignore[arg-type]
    client.add_event_callback(callbacks.on_undecryptable, MegolmEvent)  # type: ignore[arg-type]
    follower = LibraryFollower(homeserver, credentials.access_token, callbacks.use_engine)
    following = asyncio.create_task(follower.run())
    logger.info("Bot-GovChat is running as %s (device %s)", credentials.user_id, credentials.device_id)
    try:
        await _sync_until_stopped(client)
    finally:
        following.cancel()
        answered.close()
        await client.close()


async def _sync_until_stopped(client: AsyncClient) -> None:
    """Keep syncing through homeserver restarts; the stored sync token resumes where we were."""
    while True:
        try:
            await client.sync_forever(timeout=SYNC_TIMEOUT_MS, full_state=True)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # connection refused while the homeserver restarts, and the like
            logger.warning("Sync interrupted (%s); retrying in %.0f s", type(error).__name__, RECONNECT_DELAY_SECONDS)
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s pkpa_bot %(levelname)s %(message)s")
    logging.getLogger("nio").setLevel(logging.WARNING)
    owner_only_from_now_on()  # the crypto store and credentials are for the service account only
    try:
        settings = load_settings(data_dir_from_env(), port_from_env())
    except SettingsError as error:
        print(f"pkpa_bot: {error}", file=sys.stderr)
        return 2
    metrics = settings.values["metrics"]
    if metrics["enabled"]:
        try:
            start_http_server(metrics["bot_port"], addr="127.0.0.1")
        except OSError as error:  # answering questions matters more than being measured
            logger.warning("No metrics: cannot listen on 127.0.0.1:%s (%s)", metrics["bot_port"], error)
    loop = asyncio.new_event_loop()
    task = loop.create_task(run_bot(settings))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        return 0
    except AccountError as error:
        print(f"pkpa_bot: {error}", file=sys.stderr)
        return 2
    finally:
        loop.close()
    return 0
