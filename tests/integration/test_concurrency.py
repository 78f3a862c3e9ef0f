"""Races on PostgreSQL: concurrent issuing keeps numbers gapless, concurrent settling cannot over-apply."""

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections

from o2c.receivables import services
from o2c.receivables.calculations import LineIn
from o2c.receivables.errors import UnableToAllocate
from o2c.receivables.models import Allocation, Document
from tests.conftest import NOW, issued_invoice

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="row locks and concurrent sessions are tested on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_concurrently(jobs: list[Callable[[], object]]) -> list[object]:
    results: list[object] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = jobs[index]()
        except Exception as error:  # the test inspects refusals
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_issuing_gives_gapless_unique_numbers(customer):
    drafts = [
        services.document_create(
            customer=customer,
            document_type="invoice",
            issue_date=date(2026, 3, 2),
            lines=[LineIn("Work", Decimal(1), Decimal(100))],
            actor=None,
            now=NOW,
        )
        for _ in range(8)
    ]
    results = run_concurrently(
        [lambda pk=draft.pk: services.document_issue(document_id=pk, actor=None, now=NOW) for draft in drafts]
    )
    assert all(isinstance(result, Document) for result in results)
    numbers = sorted(Document.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 9)]


def test_concurrent_settlements_cannot_over_apply_an_invoice(customer):
    invoice = issued_invoice(customer)  # 1,190.00
    results = run_concurrently(
        [
            lambda: services.allocation_create(
                document_id=invoice.pk,
                kind="write_off",
                amount_minor=80000,
                posting_date=date(2026, 3, 5),
                actor=None,
                now=NOW,
            )
            for _ in range(2)
        ]
    )
    refused = [r for r in results if isinstance(r, UnableToAllocate)]
    assert len(refused) == 1
    assert refused[0].code == "over_application"
    invoice.refresh_from_db()
    assert invoice.open_minor == 39000
    assert Allocation.objects.count() == 1
