"""What Bot-GovChat does with the events it receives."""

from __future__ import annotations

import logging
import re
import time

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, MegolmEvent, RoomMessageText
from prometheus_client import Counter

from bots.pkpa_bot.answered import AnsweredLog
from bots.pkpa_bot.chat import send_reply
from bots.pkpa_bot.commands import Reply, answer, is_explicit_command, parse_command
from bots.pkpa_bot.ratelimit import RateLimiter
from bots.pkpa_bot.search import SearchEngine

logger = logging.getLogger(__name__)

QUESTIONS = Counter("govchat_bot_questions_total", "Questions Bot-GovChat answered, by command", ["command"])
NOT_ANSWERED = Counter("govchat_bot_not_answered_total", "Questions Bot-GovChat did not answer, by reason", ["reason"])

RATE_LIMITED = Reply(
    plain="Maaf, terlalu banyak soalan dalam masa yang singkat; cuba lagi sebentar lagi. / Sorry, too many questions at once; please try again in a minute.",
    html="<p>Maaf, terlalu banyak soalan dalam masa yang singkat; cuba lagi sebentar lagi. / Sorry, too many questions at once; please try again in a minute.</p>",
)
UNDECRYPTABLE = Reply(
    plain="Saya tidak dapat menyahsulit mesej anda. Sahkan sesi anda (Tetapan > Sesi) dan hantar semula. / I could not decrypt your message. Verify your session (Settings > Sessions) and send it again.",
    html="<p>Saya tidak dapat menyahsulit mesej anda. Sahkan sesi anda (Tetapan &gt; Sesi) dan hantar semula. / I could not decrypt your message. Verify your session (Settings &gt; Sessions) and send it again.</p>",
)


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def is_direct_chat(room: MatrixRoom) -> bool:
    """The bot and one person: answer everything, no prefix needed."""
    return room.member_count <= 2


class BotCallbacks:
    def __init__(
        self, client: AsyncClient, engine: SearchEngine, answered: AnsweredLog, limiter: RateLimiter, display_name: str, not_before_ms: int
    ) -> None:
        self.client = client
        self.engine = engine
        self.answered = answered
        self.limiter = limiter
        self.display_name = display_name
        self.not_before_ms = not_before_ms
        self._warned_limited: set[str] = set()

    def use_engine(self, engine: SearchEngine) -> None:
        """Answer from now on with a search engine built from a newer library."""
        self.engine = engine

    async def on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.client.user_id or event.membership != "invite":
            return
        if server_of(event.sender) != server_of(self.client.user_id):
            logger.info("Ignoring an invite from another server to %s", room.room_id)
            return
        await self.client.join(room.room_id)

    async def on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        question = self._question_for_bot(room, event)
        if question is None:
            return
        await self._answer_once(room.room_id, event.event_id, event.sender, question)

    async def on_undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """A hint to verify the session, under the same addressing rules and limits as questions.

        In a group the bot cannot tell whether it was addressed (the mention is inside the
        ciphertext), so only direct chats get a hint; each hint takes one of the sender's
        questions, so a flood of fake encrypted events gets the one polite refusal, then silence.
        """
        if event.sender == self.client.user_id or event.server_timestamp < self.not_before_ms:
            return
        if server_of(event.sender) != server_of(self.client.user_id) or not is_direct_chat(room):
            NOT_ANSWERED.labels(reason="undecryptable_not_addressed").inc()
            return
        if not await self._within_limit(room.room_id, event.event_id, event.sender, time.time()):
            return
        try:
            await self.client.request_room_key(event)
        except Exception:  # a repeated key request is refused by nio; the hint still goes out
            logger.debug("Room key already requested for %s", event.event_id)
        if self.answered.claim(event.event_id, int(time.time() * 1000)):
            NOT_ANSWERED.labels(reason="undecryptable").inc()
            await send_reply(self.client, room.room_id, event.event_id, UNDECRYPTABLE)

    def _question_for_bot(self, room: MatrixRoom, event: RoomMessageText) -> str | None:
        if event.sender == self.client.user_id or event.server_timestamp < self.not_before_ms:
            return None
        if server_of(event.sender) != server_of(self.client.user_id):
            return None
        body = event.body or ""
        if is_direct_chat(room):
            return body
        if self._mentions_bot(event):
            return self._without_mention(body)
        if is_explicit_command(body):
            return body
        return None

    def _mentions_bot(self, event: RoomMessageText) -> bool:
        mentions = event.source.get("content", {}).get("m.mentions", {})
        if isinstance(mentions, dict) and self.client.user_id in (mentions.get("user_ids") or []):
            return True
        lowered = (event.body or "").lower()
        localpart = self.client.user_id[1:].split(":")[0].lower()
        return self.display_name.lower() in lowered or localpart in lowered

    def _without_mention(self, body: str) -> str:
        localpart = self.client.user_id[1:].split(":")[0]
        names = [re.escape(self.client.user_id), re.escape(self.display_name), re.escape(localpart)]
        stripped = re.sub(r"@?(?:" + "|".join(names) + r")\s*[:,]?", " ", body, flags=re.IGNORECASE)
        return " ".join(stripped.split())

    async def _within_limit(self, room_id: str, event_id: str, sender: str, now: float) -> bool:
        """Take one of the sender's questions; once they are used up, answer politely once, then stay silent."""
        if not self.limiter.allow(sender, now):
            NOT_ANSWERED.labels(reason="rate_limited").inc()
            if sender not in self._warned_limited and self.answered.claim(event_id, int(now * 1000)):
                self._warned_limited.add(sender)
                await send_reply(self.client, room_id, event_id, RATE_LIMITED)
            return False
        self._warned_limited.discard(sender)
        return True

    async def _answer_once(self, room_id: str, event_id: str, sender: str, question: str) -> None:
        now = time.time()
        if not await self._within_limit(room_id, event_id, sender, now):
            return
        if not self.answered.claim(event_id, int(now * 1000)):
            return
        try:
            command = parse_command(question)
            reply = answer(command, self.engine)
            QUESTIONS.labels(command=command.name).inc()
            sent = await send_reply(self.client, room_id, event_id, reply)
        except Exception:
            logger.exception("Could not answer %s", event_id)
            sent = False
        if not sent:
            self.answered.release(event_id)
