"""Saved bank CSV mappings: how to read a bank's own CSV export, by name, for one legal entity.

A mapping is a `bankfiles.csvformats.CsvMapping` (which column is the date, the amount, the reference...;
delimiter, encoding, decimal separator, date format, lines before the header) kept as JSON with the
entity's own bank account its entries are booked on. Saving one validates it by building the
CsvMapping; a bad field is one line naming the file and the field, and nothing is written.

`bank_file_read` is how an import reads a file: the known formats by their content (camt, BAI2, MT940,
lockbox, card payouts); anything else that looks like CSV through the mapping named, or else the one
saved mapping whose columns are all in the file's header. Saving and deleting are audited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from o2c.audit import services as audit_services
from o2c.bankfiles import csvformats, detect
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import Statement
from o2c.cash.errors import UnableToImportBankFile
from o2c.cash.models import BankCsvMapping
from o2c.core.actors import actor_id
from o2c.core.exceptions import InputError
from o2c.core.money import known_currencies
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import EntityBankAccount, LegalEntity

CSV_FORMAT = "csv"
"""The file format an import through a mapping reports."""

MAX_NAME_LENGTH = 100

_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_CSV_DELIMITERS = (b",", b";", b"\t", b"|")
_MAPPABLE_FORMATS = ("lockbox", "card_payout")
"""Known formats that are CSV too: a mapping named explicitly reads such a file instead."""


@dataclass(frozen=True, slots=True)
class BankFileRead:
    """A bank file read: its format, its statements and, read through a mapping, the mapping's account
    (None: each statement's own account, as the file names it)."""

    file_format: str
    statements: list[Statement]
    bank_account: EntityBankAccount | None = None
    mapping_name: str | None = None


# --- reads ---------------------------------------------------------------------------------------


def csv_mapping_list(*, entity_ids: list[int]) -> QuerySet[BankCsvMapping]:
    """The saved mappings of these entities, by entity and name, with their bank accounts."""
    return (
        BankCsvMapping.objects.filter(entity_id__in=entity_ids)
        .select_related("entity", "bank_account")
        .order_by("entity__code", "name")
    )


def csv_mapping_of(record: BankCsvMapping) -> csvformats.CsvMapping:
    """The saved mapping as the CSV reader takes it (validated again: it was when saved)."""
    try:
        return csvformats.csv_mapping_from_json(record.definition)
    except ValueError as error:
        raise UnableToImportBankFile(
            _("the saved CSV mapping '%(name)s' is not valid: %(problem)s")
            % {"name": record.name, "problem": error},
            code="bad_csv_mapping",
        ) from None


def csv_mappings_fitting(*, entity: LegalEntity, data: bytes) -> list[BankCsvMapping]:
    """The entity's saved mappings whose named columns are all in the file's header, read after the
    mapping's `skip_rows` with its delimiter and encoding (case and surrounding spaces ignored)."""
    return [
        record
        for record in csv_mapping_list(entity_ids=[entity.pk])
        if csvformats.mapping_fits(data, mapping=csv_mapping_of(record))
    ]


def bank_file_read(
    *, data: bytes, file_name: str, entity: LegalEntity, mapping_name: str | None
) -> BankFileRead:
    """Read a bank file for an import. A known format is read by its own reader; a file that is not one
    and looks like CSV is read through the mapping named, else through the one saved mapping whose
    columns its header has. Several fitting, or none, refuse the file in one line saying why."""
    try:
        file_format = detect.detect_format(data, source=file_name)
    except UnableToReadBankFile as refused:
        if not _looks_like_csv(data):
            raise
        record = (
            _named(entity=entity, name=mapping_name)
            if mapping_name
            else _fitting_one(entity=entity, data=data, file_name=file_name, refused=refused)
        )
    else:
        if not mapping_name:
            read_format, statements = detect.read_bank_file(data, source=file_name)
            return BankFileRead(file_format=read_format, statements=statements)
        if file_format not in _MAPPABLE_FORMATS:
            raise UnableToReadBankFile(
                _("this is a %(format)s file, not a CSV export: it is read without a CSV mapping")
                % {"format": file_format},
                source=file_name,
                code="not_csv",
            )
        record = _named(entity=entity, name=mapping_name)
    statements = csvformats.parse_mapped_csv(data, source=file_name, mapping=csv_mapping_of(record))
    account = record.bank_account
    for statement in statements:
        for entry in statement.entries:
            if entry.currency != account.currency:
                raise UnableToImportBankFile(
                    _(
                        "%(file)s: entry %(position)d: currency %(currency)s is not the currency of "
                        "%(account)s (%(account_currency)s), the bank account of the CSV mapping '%(name)s'"
                    )
                    % {
                        "file": file_name,
                        "position": entry.position,
                        "currency": entry.currency,
                        "account": account,
                        "account_currency": account.currency,
                        "name": record.name,
                    },
                    code="currency_mismatch",
                )
    return BankFileRead(
        file_format=CSV_FORMAT, statements=statements, bank_account=account, mapping_name=record.name
    )


def _looks_like_csv(data: bytes) -> bool:
    """Text (no NUL byte) with a field delimiter in its first lines."""
    head = data[: csvformats.MAPPING_HEAD_BYTES]
    return b"\x00" not in head and any(delimiter in head for delimiter in _CSV_DELIMITERS)


def _named(*, entity: LegalEntity, name: str) -> BankCsvMapping:
    record = csv_mapping_list(entity_ids=[entity.pk]).filter(name=name.strip()).first()
    if record is None:
        saved = list(csv_mapping_list(entity_ids=[entity.pk]).values_list("name", flat=True))
        raise InputError(
            _("no CSV mapping '%(name)s' is saved for %(entity)s (saved: %(saved)s)")
            % {"name": name, "entity": entity.code, "saved": _names(saved) or _("none")},
            code="unknown_csv_mapping",
        )
    return record


def _fitting_one(
    *, entity: LegalEntity, data: bytes, file_name: str, refused: UnableToReadBankFile
) -> BankCsvMapping:
    fitting = csv_mappings_fitting(entity=entity, data=data)
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        raise UnableToReadBankFile(
            _("its header fits several saved CSV mappings (%(names)s): choose one with --mapping NAME")
            % {"names": _names([record.name for record in fitting])},
            source=file_name,
            code="ambiguous_csv_mapping",
        )
    saved = csv_mapping_list(entity_ids=[entity.pk]).count()
    if saved:
        hint = _(
            "a bank's own CSV export needs a saved column mapping, and none of the %(count)d of "
            "%(entity)s has all its columns in this file's header"
        ) % {"entity": entity.code, "count": saved}
    else:
        hint = _(
            "a bank's own CSV export needs a saved column mapping (o2c cash csv-mapping), and "
            "%(entity)s has none"
        ) % {"entity": entity.code}
    raise UnableToReadBankFile(
        f"{refused.message.removeprefix(f'{file_name}: ')}; {hint}",
        source=file_name,
        code=refused.code,
    )


def _names(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


# --- writes --------------------------------------------------------------------------------------


@transaction.atomic
def csv_mapping_save(
    *,
    entity: LegalEntity,
    name: str,
    definition: Mapping[str, Any],
    bank_account: str,
    currency: str | None,
    actor: User | None,
    now: datetime,
    source: str | None = None,
) -> BankCsvMapping:
    """Save a mapping by name: created, or replaced when the entity has one of that name. `definition`
    holds CsvMapping's fields by name; `bank_account` is the IBAN or account number of the entity's own
    account the file's entries are booked on, registered when not known yet (in `currency`, else the
    mapping's default currency, else the entity's). `source` names the definition's file in messages.
    Audited with what changed; saving the same mapping again changes nothing."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InputError(
            _("a CSV mapping needs a name of 1 to %(max)d characters") % {"max": MAX_NAME_LENGTH},
            code="bad_csv_mapping",
        )
    try:
        mapping = csvformats.csv_mapping_from_json(definition)
    except ValueError as error:
        raise InputError(str(error), file=source, code="bad_csv_mapping") from None
    account = _bank_account(
        entity=entity,
        identifier=bank_account,
        currency=currency.strip().upper() if currency else None,
        mapping=mapping,
        mapping_name=name,
        actor=actor,
        now=now,
    )
    stored = csvformats.csv_mapping_to_json(mapping)
    existing = BankCsvMapping.objects.select_for_update().filter(entity=entity, name=name).first()
    if existing is None:
        record = BankCsvMapping.objects.create(
            entity=entity,
            name=name,
            bank_account=account,
            definition=stored,
            created_at=now,
            created_by=actor if actor_id(actor) else None,
            changed_at=now,
            changed_by=actor if actor_id(actor) else None,
        )
        changes = {"bank_account": (None, str(account)), **_definition_changes(None, stored)}
        action = "cash.csv_mapping.created"
    else:
        record = existing
        changes = _definition_changes(record.definition, stored)
        if record.bank_account_id != account.pk:
            changes = {"bank_account": (str(record.bank_account), str(account)), **changes}
        if not changes:
            return record
        record.bank_account = account
        record.definition = stored
        record.changed_at = now
        record.changed_by = actor if actor_id(actor) else None
        record.save(update_fields=["bank_account", "definition", "changed_at", "changed_by"])
        action = "cash.csv_mapping.changed"
    audit_services.record(
        actor=actor,
        action=action,
        object_type="bank_csv_mapping",
        object_id=record.pk,
        object_label=name,
        entity_id=entity.pk,
        changes=changes,
        now=now,
    )
    return record


@transaction.atomic
def csv_mapping_delete(*, entity: LegalEntity, name: str, actor: User | None, now: datetime) -> None:
    """Delete a saved mapping by name (files imported through it stay as they are). Audited."""
    record = _named(entity=entity, name=name)
    changes = {
        "bank_account": (str(record.bank_account), None),
        **_definition_changes(record.definition, None),
    }
    record_id = record.pk
    record.delete()
    audit_services.record(
        actor=actor,
        action="cash.csv_mapping.deleted",
        object_type="bank_csv_mapping",
        object_id=record_id,
        object_label=record.name,
        entity_id=entity.pk,
        changes=changes,
        now=now,
    )


def _definition_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """The mapping's fields that differ, as the audit trail keeps them: {field: (old, new)}, several
    text columns written as a JSON list; a field that is not set is None."""

    def shown(fields: Mapping[str, Any] | None, name: str) -> Any:
        value = (fields or {}).get(name)
        return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value

    names = [*(before or {}), *(name for name in (after or {}) if name not in (before or {}))]
    return {
        name: (shown(before, name), shown(after, name))
        for name in names
        if shown(before, name) != shown(after, name)
    }


def _bank_account(
    *,
    entity: LegalEntity,
    identifier: str,
    currency: str | None,
    mapping: csvformats.CsvMapping,
    mapping_name: str,
    actor: User | None,
    now: datetime,
) -> EntityBankAccount:
    """The entity's own account by IBAN or account number; registered when not known (unless bank
    accounts are strict). Its currency must be the mapping's default currency when it has one."""
    compact = re.sub(r"\s", "", identifier).upper()
    if not compact:
        raise InputError(
            _("a CSV mapping needs the bank account its entries are booked on (an IBAN or account number)"),
            code="bank_account_required",
        )
    if currency is not None and currency not in known_currencies():
        raise InputError(
            _("currency '%(currency)s' is not an ISO 4217 code") % {"currency": currency},
            code="unknown_currency",
        )
    is_iban = bool(_IBAN_SHAPE.fullmatch(compact))
    account = ledger_selectors.own_bank_account_find(
        iban=compact if is_iban else None, account_number=identifier.strip()
    )
    if account is None:
        if settings.O2C_STRICT_BANK_ACCOUNTS:
            raise InputError(
                _("bank account %(account)s is not one of %(entity)s's accounts")
                % {"account": identifier.strip(), "entity": entity.code},
                code="unknown_bank_account",
            )
        if is_iban:
            try:
                IBAN(compact)
            except SchwiftyException as error:
                raise InputError(
                    _("'%(iban)s' is not a valid IBAN (%(problem)s)")
                    % {"iban": identifier, "problem": error},
                    code="bad_iban",
                ) from None
        account = ledger_services.own_bank_account_register(
            entity=entity,
            iban=compact if is_iban else None,
            account_number=None if is_iban else identifier.strip(),
            currency=currency or mapping.default_currency or entity.currency,
            name=compact,
            now=now,
            actor=actor,
            reason=f"bank CSV mapping {mapping_name}",
        )
    if account.entity_id != entity.pk:
        raise InputError(
            _("bank account %(account)s belongs to another legal entity") % {"account": account},
            code="other_entity",
        )
    for expected in (currency, mapping.default_currency):
        if expected is not None and expected != account.currency:
            raise InputError(
                _("bank account %(account)s is in %(currency)s, not %(expected)s")
                % {"account": account, "currency": account.currency, "expected": expected},
                code="currency_mismatch",
            )
    return account
