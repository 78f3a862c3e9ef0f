"""Use cases of the workspace: API tokens.

A token is shown once, when it is created; the database keeps only its SHA-256 hash, so a leaked
database does not leak working tokens. Tokens are long random strings, so a plain hash (no salt, no
key stretching) is enough and lets a request find its token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from o2c.audit import services as audit_services
from o2c.workspace.models import ApiToken, UserPreference

TOKEN_PREFIX = "o2c_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new active token for the user; returns the row and the token (the only time it is known)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken.objects.create(
        user=user, name=name.strip() or "api", token_hash=token_hash(token), created_at=now
    )
    audit_services.record(
        actor=None,
        action="workspace.api_token.created",
        object_type="api_token",
        object_id=api_token.pk,
        object_label=f"{user.get_username()}: {api_token.name}",
        changes={"user": (None, user.get_username())},
        now=now,
    )
    return api_token, token


def api_token_authenticate(*, token: str, now: datetime) -> ApiToken | None:
    """The active token of an active user that matches, with its user; records when it was last used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    api_token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(token), is_active=True, user__is_active=True)
        .first()
    )
    if api_token is None:
        return None
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    api_token.last_used_at = now
    return api_token


@transaction.atomic
def api_token_revoke(*, api_token_id: int, actor: User | None, now: datetime) -> None:
    updated = ApiToken.objects.filter(pk=api_token_id, is_active=True).update(is_active=False)
    if updated:
        audit_services.record(
            actor=actor,
            action="workspace.api_token.revoked",
            object_type="api_token",
            object_id=api_token_id,
            changes={"is_active": (True, False)},
            now=now,
        )


def user_language_set(*, user: User, language: str) -> UserPreference:
    """The language a person reads the back office in; amounts and dates follow it."""
    preference, _ = UserPreference.objects.update_or_create(user_id=user.pk, defaults={"language": language})
    return preference
