"""Refusals of the documents app."""

from __future__ import annotations

from o2c.core.exceptions import DomainError


class UnableToSendStatement(DomainError):
    """A statement of account could not be sent: `no_recipient` (no billing contact and no e-mail
    address) or `mail_failed` (the mail server refused it or could not be reached)."""
