"""Who did it, as the database stores it."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User


def actor_id(actor: User | AnonymousUser | None) -> int | None:
    """The user's id for `created_by` columns: None for the system (commands, imports) and anonymous."""
    return actor.pk if actor is not None and actor.is_authenticated else None
