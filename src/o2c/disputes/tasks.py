"""Handlers of the domain events disputes listens to (registered in `apps.DisputesConfig.ready`): they
run after the publishing transaction committed, read the clock and call one service each."""

from __future__ import annotations

import logging
from typing import Any

from o2c.core import clock
from o2c.core.exceptions import DomainError
from o2c.disputes import services

logger = logging.getLogger(__name__)


def on_deduction_taken(
    *, payment_id: int, document_id: int, amount_minor: int, currency: str, reason: str = "", **_: Any
) -> None:
    """`cash.deduction_taken`: a short pay left part of an invoice open; open its deduction case once.
    A refusal (the invoice settled meanwhile) is logged: the payment's application stands."""
    try:
        services.deduction_case_open(
            payment_id=payment_id,
            document_id=document_id,
            amount_minor=amount_minor,
            currency=currency,
            reason=reason or "",
            now=clock.now(),
        )
    except DomainError as error:
        logger.warning(
            "no deduction case for payment %s on document %s: %s", payment_id, document_id, error.message
        )


def on_documents_issued(*, document_ids: list[int], **_: Any) -> None:
    """`receivables.documents_issued`: a credit memo a case waited for was issued; the case ends."""
    services.on_credit_memos_issued(document_ids=document_ids, now=clock.now())
