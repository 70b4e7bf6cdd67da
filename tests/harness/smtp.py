"""A real SMTP server (aiosmtpd, on its own thread) that keeps what it receives, and the app wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from sessions_gql.clock import FrozenClock
from tests.harness.app import Api, running_api, settings_for
from tests.harness.servers import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        """Unfolded; Python's parser keeps the space of a fold right after "Subject:", mail clients drop it."""
        return str(self.message["Subject"]).strip()

    def part(self, subtype: str) -> str:
        """The decoded text/`subtype` part of the multipart/alternative body."""
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None and found.get_content_type() == f"text/{subtype}", self.message
        return found.get_content()  # type: ignore[no-any-return]


@dataclass
class Inbox:
    """The aiosmtpd handler: answers DATA with the queued refusals first, then accepts and keeps the message."""

    messages: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        raw = envelope.original_content.replace(b"\r\n", b"\n")  # SMTP's line ends, as a mail client stores them
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(Received(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                                      message=message))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [received for received in self.messages if address in received.rcpt_tos]


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(host=controller.hostname, port=controller.port, inbox=inbox)
    finally:
        controller.stop()


@pytest.fixture
async def mail_api(database_url: str, clock: FrozenClock, smtp_server: SmtpServer) -> AsyncIterator[Api]:
    """The `api` fixture's app, sending email to `smtp_server`."""
    settings = settings_for(database_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    async with running_api(settings, clock) as api:
        yield api
