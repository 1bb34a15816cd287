"""Sending Bot-GovChat's answers: notices, formatted, as replies to the question."""

from __future__ import annotations

from nio import AsyncClient, RoomSendResponse

from bots.pkpa_bot.commands import Reply


async def send_reply(client: AsyncClient, room_id: str, in_reply_to: str, reply: Reply) -> bool:
    content = {
        "msgtype": "m.notice",
        "body": reply.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": reply.html,
        "m.relates_to": {"m.in_reply_to": {"event_id": in_reply_to}},
    }
    # Users' devices are not verified by the bot; like Element's default, it still encrypts to them.
    answer = await client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
    return isinstance(answer, RoomSendResponse)
