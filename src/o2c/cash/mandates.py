"""SEPA direct-debit mandates brought in from a CSV file (a mandate management tool's export, or the
signed forms typed into a spreadsheet), and the list of an entity's mandates.

The file has a header row with `customer_number, reference, iban, signature_date` and optionally `bic`,
`holder`, `sequence_type` (FRST or OOFF; default FRST); dates ISO 8601, a comma or semicolon between
columns, UTF-8 (with or without BOM). The import is one transaction: every row is checked first, and a
bad row refuses the file with one line naming its row and column. A mandate whose reference is known
already with the same customer and IBAN is left as it is, so the same file imported again changes
nothing; the same reference for another customer or IBAN is refused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction

from o2c.cash.sepa import UnableToSaveMandate, mandate_create
from o2c.core.exceptions import InputError
from o2c.customers.models import Customer, Mandate
from o2c.ledger.models import LegalEntity

REQUIRED = ("customer_number", "reference", "iban", "signature_date")
OPTIONAL = ("bic", "holder", "sequence_type")


@dataclass(slots=True)
class MandateImport:
    file_name: str
    rows: int = 0
    created: int = 0
    known: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "rows": self.rows,
            "created": self.created,
            "already_known": self.known,
        }


def _rows(data: bytes, file_name: str) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{file_name}: not UTF-8 text") from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise InputError(f"{file_name}: header: missing column(s) {', '.join(missing)}")
    unknown = [column for column in header if column not in REQUIRED + OPTIONAL]
    if unknown:
        raise InputError(f"{file_name}: header: unknown column(s) {', '.join(unknown)}")
    reader.fieldnames = header
    rows = [
        {key: (value or "").strip() for key, value in row.items() if key is not None}
        for row in reader
        if any((value or "").strip() for value in row.values() if isinstance(value, str))
    ]
    if not rows:
        raise InputError(f"{file_name}: no mandates after the header")
    return rows


def mandates_import(
    *, data: bytes, file_name: str, entity: LegalEntity, actor: User | None, now: datetime
) -> MandateImport:
    """Create the file's mandates for the entity's customers (see the module docstring)."""
    rows = _rows(data, file_name)
    result = MandateImport(file_name=file_name, rows=len(rows))
    numbers = {row["customer_number"] for row in rows}
    customers = dict(Customer.objects.filter(entity=entity, number__in=numbers).values_list("number", "pk"))
    known = {
        mandate.reference: mandate
        for mandate in Mandate.objects.filter(entity=entity, reference__in={row["reference"] for row in rows})
    }
    with transaction.atomic():
        for line, row in enumerate(rows, start=2):
            where = f"{file_name}: row {line}"
            customer_id = customers.get(row["customer_number"])
            if customer_id is None:
                raise InputError(
                    f"{where}, customer_number: no customer {row['customer_number']!r} in {entity.code}"
                )
            try:
                signed = date.fromisoformat(row["signature_date"])
            except ValueError:
                raise InputError(
                    f"{where}, signature_date: {row['signature_date']!r} is not a date (YYYY-MM-DD)"
                ) from None
            if signed > now.date():
                raise InputError(f"{where}, signature_date: {signed.isoformat()} is in the future")
            existing = known.get(row["reference"])
            if existing is not None:
                if (
                    existing.customer_id != customer_id
                    or existing.iban != row["iban"].replace(" ", "").upper()
                ):
                    raise InputError(
                        f"{where}, reference: mandate {row['reference']} belongs already to another customer "
                        "or IBAN"
                    )
                result.known += 1
                continue
            try:
                known[row["reference"]] = mandate_create(
                    customer_id=customer_id,
                    reference=row["reference"],
                    iban=row["iban"],
                    bic=row.get("bic", ""),
                    holder=row.get("holder", ""),
                    signature_date=signed,
                    sequence_type=(row.get("sequence_type") or Mandate.SequenceType.FIRST).upper(),
                    actor=actor,
                    now=now,
                )
            except UnableToSaveMandate as error:
                raise InputError(f"{where}: {error.message}") from None
            result.created += 1
    return result


def mandate_rows(*, entity: LegalEntity) -> list[dict[str, object]]:
    """The entity's mandates, by customer number and reference."""
    return [
        {
            "customer_number": mandate.customer.number,
            "reference": mandate.reference,
            "iban": mandate.iban,
            "bic": mandate.bic,
            "holder": mandate.holder,
            "signature_date": mandate.signature_date.isoformat(),
            "sequence_type": mandate.sequence_type,
            "active": mandate.is_active,
            "last_collection_date": mandate.last_collection_date.isoformat()
            if mandate.last_collection_date
            else None,
        }
        for mandate in Mandate.objects.filter(entity=entity)
        .select_related("customer")
        .order_by("customer__number", "reference")
    ]
