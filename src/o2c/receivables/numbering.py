"""Gapless document numbers per legal entity, document type and year."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import F

from o2c.ledger.models import LegalEntity
from o2c.receivables import locks
from o2c.receivables.models import DocumentType, NumberSeries

PREFIXES = {DocumentType.INVOICE: "INV-", DocumentType.CREDIT_MEMO: "CM-", DocumentType.DEBIT_MEMO: "DM-"}
DIGITS = 6


def format_number(series: NumberSeries, number: int) -> str:
    return f"{series.prefix}{series.year}-{number:0{DIGITS}d}"


def series_for(
    *, entity: LegalEntity, document_type: str, year: int, is_migration: bool = False
) -> NumberSeries:
    prefix = "MIG-" if is_migration else PREFIXES[DocumentType(document_type)]
    try:
        with transaction.atomic():
            series, _ = NumberSeries.objects.get_or_create(
                entity=entity,
                document_type=document_type,
                year=year,
                is_migration=is_migration,
                defaults={"prefix": prefix},
            )
    except IntegrityError:  # another transaction created it first
        series = NumberSeries.objects.get(
            entity=entity, document_type=document_type, year=year, is_migration=is_migration
        )
    return series


def next_number(*, entity: LegalEntity, document_type: str, year: int) -> tuple[NumberSeries, str]:
    """Lock the counter row, bump it with F(), and format. Must run inside the issuing transaction,
    so a rollback gives the number back and the series stays gapless."""
    series_id = series_for(entity=entity, document_type=document_type, year=year).pk
    series = locks.series_qs_for_update().get(pk=series_id)
    NumberSeries.objects.filter(pk=series.pk).update(last_number=F("last_number") + 1)
    series.refresh_from_db(fields=["last_number"])
    return series, format_number(series, series.last_number)


def native_sequence(number: str) -> tuple[str, int, int] | None:
    """(document type, year, counter) when an imported number has the shape of a native number."""
    for document_type, prefix in PREFIXES.items():
        match = re.fullmatch(rf"{re.escape(prefix)}(\d{{4}})-(\d{{{DIGITS}}})", number)
        if match:
            return str(document_type), int(match[1]), int(match[2])
    return None


def advance_past_imported(*, entity: LegalEntity, numbers: list[str]) -> None:
    """Imported numbers in the shape of a native series continue it: the counter moves past them,
    so the next issued number can never collide with one brought in by a migration."""
    highest: dict[tuple[str, int], int] = {}
    for number in numbers:
        found = native_sequence(number)
        if found:
            key = (found[0], found[1])
            highest[key] = max(highest.get(key, 0), found[2])
    for (document_type, year), counter in highest.items():
        series = series_for(entity=entity, document_type=document_type, year=year)
        NumberSeries.objects.filter(pk=series.pk, last_number__lt=counter).update(last_number=counter)


def next_numbers(
    *, entity: LegalEntity, document_type: str, year: int, count: int
) -> tuple[NumberSeries, list[str]]:
    """A block of `count` consecutive numbers, taken under the series' row lock inside the issuing
    transaction (a rollback returns the whole block, so the series stays gapless)."""
    series_id = series_for(entity=entity, document_type=document_type, year=year).pk
    series = locks.series_qs_for_update().get(pk=series_id)
    NumberSeries.objects.filter(pk=series.pk).update(last_number=F("last_number") + count)
    series.refresh_from_db(fields=["last_number"])
    first = series.last_number - count + 1
    return series, [format_number(series, number) for number in range(first, series.last_number + 1)]
