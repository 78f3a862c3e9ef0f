"""Domain events: a lower module tells higher ones about a fact without importing them.

`publish_on_commit` records the event in the caller's transaction; handlers registered by the
interested apps' `AppConfig.ready()` run after commit, in-process by default.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event_name: str, handler: Handler) -> None:
    if handler not in _handlers[event_name]:
        _handlers[event_name].append(handler)


def publish_on_commit(event_name: str, **payload: Any) -> None:
    from o2c.core.models import DomainEvent

    event = DomainEvent.objects.create(name=event_name, payload=payload)
    transaction.on_commit(lambda: dispatch(event.pk))


def publish_many_on_commit(event_name: str, payloads: list[dict[str, Any]]) -> None:
    """`publish_on_commit` for a batch: one insert, one dispatch per event after commit."""
    from o2c.core import clock
    from o2c.core.db import insert_new_rows
    from o2c.core.models import DomainEvent

    # plain rows, not model instances: a bank file publishes one per payment
    now = clock.now()  # what the field's auto_now_add would write
    ids = insert_new_rows(
        DomainEvent,
        ["name", "payload", "created_at", "is_processed"],
        [(event_name, payload, now, False) for payload in payloads],
    )
    events = [(pk, event_name, payload) for pk, payload in zip(ids, payloads, strict=True)]
    transaction.on_commit(lambda: _dispatch_known(events))


def dispatch(event_id: int) -> None:
    from o2c.core.models import DomainEvent

    _dispatch_known(DomainEvent.objects.filter(pk=event_id).values_list("pk", "name", "payload"))


def unprocessed(event_name: str) -> list[tuple[int, dict[str, Any]]]:
    """Events of this name whose handlers have not run (yet, or ever: the process may have stopped
    between commit and dispatch), oldest first, for a consumer that catches up by itself."""
    from o2c.core.models import DomainEvent

    return list(
        DomainEvent.objects.filter(name=event_name, is_processed=False)
        .order_by("pk")
        .values_list("pk", "payload")
    )


def mark_processed(event_ids: Iterable[int]) -> None:
    from o2c.core.models import DomainEvent

    ids = frozenset(event_ids)
    if ids:
        DomainEvent.objects.filter(pk__any=ids).update(is_processed=True)


def _dispatch_known(events: Iterable[tuple[int, str, dict[str, Any]]]) -> None:
    """Run the handlers of events whose payloads are at hand, then mark them processed."""
    handled: list[int] = []
    for event_id, name, payload in events:
        for handler in _handlers.get(name, []):
            handler(**payload)
        handled.append(event_id)
    mark_processed(handled)
