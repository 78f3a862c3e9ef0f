"""Handlers of the domain events collections listens to (registered in `apps.CollectionsConfig.ready`):
they run after the publishing transaction committed, read the clock and call one service each."""

from __future__ import annotations

from datetime import date
from typing import Any

from o2c.collections import services
from o2c.core import clock


def on_payment_applied(*, document_ids: list[int], **_: Any) -> None:
    """`cash.payment_applied`: the promises to pay the cash now keeps are judged kept at once."""
    if document_ids:
        services.promises_judge_paid(document_ids=document_ids, now=clock.now())


def on_payment_returned(*, document_ids: list[int], returned_on: str, **_: Any) -> None:
    """`cash.payment_returned`: the promises and payment plans the returned cash had kept are judged
    again on the cash that stayed."""
    if document_ids:
        services.promises_judge_returned(
            document_ids=document_ids, returned_on=date.fromisoformat(returned_on), now=clock.now()
        )
