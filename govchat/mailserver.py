"""GovChat's local mail server: keeps outgoing mail as `.eml` files.

Used when no SMTP relay is configured, so a trial installation (and the test
suite) can follow verification and password-reset links without real mail.
It listens on loopback only and delivers nothing onwards.
"""

from __future__ import annotations

import os
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class StoreAsEml:
    """aiosmtpd handler writing each message whole, or not at all."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        recipients = ", ".join(envelope.rcpt_tos)
        # Envelope recipients are what the server was asked to deliver to; keep them visible.
        stored = f"X-GovChat-Envelope-To: {recipients}\r\n".encode() + content
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.mail_dir / f".{name}.tmp"
        temporary.write_bytes(stored)
        os.replace(temporary, self.mail_dir / name)
        return "250 Message accepted for delivery"


class LocalMailServer:
    def __init__(self, mail_dir: Path, port: int) -> None:
        mail_dir.mkdir(parents=True, exist_ok=True)
        self.mail_dir = mail_dir
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> None:
        controller = Controller(StoreAsEml(self.mail_dir), hostname="127.0.0.1", port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def read_mail(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def mail_files(mail_dir: Path) -> list[Path]:
    """Stored messages, oldest first."""
    return sorted(mail_dir.glob("*.eml"))
