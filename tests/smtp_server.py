"""A real SMTP server on loopback (aiosmtpd) that records what it receives, for tests that send mail.

`smtp_server` starts one per test on 127.0.0.1 and a free port; `smtp_settings` also points Django's
SMTP e-mail backend at it, so the code under test sends through the real SMTP set-up, not locmem.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook for a message's content (its name is aiosmtpd's)."""
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(host=LOOPBACK, port=_free_loopback_port())
    controller = Controller(server, hostname=server.host, port=server.port, ready_timeout=10)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    """Django's SMTP backend, pointed at the test server (plain SMTP on loopback, no login)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server
