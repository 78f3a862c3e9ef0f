"""Recording audit events. Every change to money or to a customer's standing calls `record`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from o2c.audit.models import AuditEvent
from o2c.core.db import insert_new_rows, insert_objects

SYSTEM = "system"


def _actor_fields(actor: User | AnonymousUser | None, label: str | None) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor": None, "actor_label": label or SYSTEM}
    return {"actor": actor, "actor_label": label or actor.get_username()}


def event(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: int | None,
    now: datetime,
    object_label: str = "",
    entity_id: int | None = None,
    changes: Mapping[str, tuple[Any, Any] | list[Any]] | None = None,
    reason: str = "",
    actor_label: str | None = None,
) -> AuditEvent:
    """An unsaved audit event: `record` saves one, `record_many` saves a batch of them."""
    return AuditEvent(
        at=now,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label[:200],
        entity_id=entity_id,
        changes=_recorded(changes or {}),
        reason=reason[:500],
        **_actor_fields(actor, actor_label),
    )


def record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: int | None,
    now: datetime,
    object_label: str = "",
    entity_id: int | None = None,
    changes: Mapping[str, tuple[Any, Any] | list[Any]] | None = None,
    reason: str = "",
    actor_label: str | None = None,
) -> AuditEvent:
    """Save one audit event."""
    audit_event = event(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        now=now,
        object_label=object_label,
        entity_id=entity_id,
        changes=changes,
        reason=reason,
        actor_label=actor_label,
    )
    audit_event.save(force_insert=True)
    return audit_event


def record_many(events: list[AuditEvent]) -> None:
    """Set-based variant for imports and runs: same fields, one COPY (PostgreSQL) or prepared INSERT."""
    if len(events) < 100:
        AuditEvent.objects.bulk_create(events)
    else:
        insert_objects(AuditEvent, events)


# (object id, object label, entity id, changes) of one object's event in `record_for_each`
ObjectChange = tuple[int | None, str, int | None, Mapping[str, tuple[Any, Any]]]

_COLUMNS = (
    "at",
    "actor",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "entity_id",
    "changes",
    "reason",
)


def record_for_each(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    object_type: str,
    now: datetime,
    objects: Iterable[ObjectChange],
) -> int:
    """One action on many objects (a billing run's invoices): the events `record_many` would save,
    written as plain rows without building an instance each. Returns how many were written."""
    who = _actor_fields(actor, None)
    actor_id = who["actor"].pk if who["actor"] is not None else None
    rows = [
        (
            now,
            actor_id,
            who["actor_label"],
            action,
            object_type,
            object_id,
            object_label[:200],
            entity_id,
            _recorded(changes),
            "",
        )
        for object_id, object_label, entity_id, changes in objects
    ]
    return len(insert_new_rows(AuditEvent, _COLUMNS, rows))


def _recorded(changes: Mapping[str, tuple[Any, Any] | list[Any]]) -> dict[str, list[Any]]:
    """Changes as the audit trail keeps them: {field: [old, new]} in JSON-safe values."""
    return {key: [_plain(old), _plain(new)] for key, (old, new) in changes.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ, as {field: (old, new)}."""
    return {key: (before.get(key), after[key]) for key in after if before.get(key) != after[key]}
