"""Reads of the ledger for other modules and for reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import F, Q, QuerySet, Sum

from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import (
    Account,
    AccountType,
    EntityBankAccount,
    FiscalPeriod,
    FxRate,
    JournalEntry,
    JournalLine,
    LegalEntity,
)
from o2c.ledger.rules import LineIn


def entity_get(*, code: str) -> LegalEntity:
    return LegalEntity.objects.get(code=code)


def entity_list() -> QuerySet[LegalEntity]:
    return LegalEntity.objects.order_by("code")


def entity_default() -> LegalEntity | None:
    return LegalEntity.objects.filter(is_default=True).first() or LegalEntity.objects.order_by("pk").first()


def entities_for_user(user: User | AnonymousUser) -> QuerySet[LegalEntity]:
    """The legal entities a person may see: those granted to them (superusers see all)."""
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return LegalEntity.objects.none()
    if getattr(user, "is_superuser", False):
        return LegalEntity.objects.order_by("code")
    return LegalEntity.objects.filter(grants__user_id=user.pk).order_by("code")


def entity_ids_for_user(user: User | AnonymousUser) -> list[int]:
    return list(entities_for_user(user).values_list("pk", flat=True))


def account_id_for(*, entity: LegalEntity, type: AccountType) -> int:
    """The id of the entity's default account of a type: the lowest open code of that type.

    The entity's chart is read once per entity object: a posting service asks for three or four
    accounts per business event, and the chart does not change within a unit of work.
    """
    chart: dict[str, int] | None = getattr(entity, "_o2c_default_accounts", None)
    if chart is None:
        chart = {}
        for account_type, account_id in (
            Account.objects.filter(entity=entity, is_open=True).order_by("-code").values_list("type", "pk")
        ):
            chart[account_type] = account_id  # descending codes: the lowest code wins
        setattr(entity, "_o2c_default_accounts", chart)  # noqa: B010 - a cache on the loaded object
    if type not in chart:
        raise Account.DoesNotExist(f"entity {entity.code} has no open {type} account")
    return chart[type]


def account_for(*, entity: LegalEntity, type: AccountType) -> Account:
    return Account.objects.get(pk=account_id_for(entity=entity, type=type))


def fx_account_ids(*, entity: LegalEntity) -> frozenset[int]:
    return frozenset(Account.objects.filter(entity=entity, type=AccountType.FX).values_list("pk", flat=True))


def fx_rate_on(*, from_currency: str, to_currency: str, on: date) -> Decimal:
    """The rate of the date or the latest earlier one; the inverse of the opposite pair as fallback."""
    if from_currency == to_currency:
        return Decimal(1)
    direct = (
        FxRate.objects.filter(from_currency=from_currency, to_currency=to_currency, rate_date__lte=on)
        .order_by("-rate_date")
        .values_list("rate", flat=True)
        .first()
    )
    if direct is not None:
        return direct
    inverse = (
        FxRate.objects.filter(from_currency=to_currency, to_currency=from_currency, rate_date__lte=on)
        .order_by("-rate_date")
        .values_list("rate", flat=True)
        .first()
    )
    if inverse is not None:
        return (Decimal(1) / inverse).quantize(Decimal("0.0000000001"))
    raise UnableToConvertCurrency(
        f"no FX rate {from_currency}/{to_currency} on or before {on.isoformat()}", code="no_fx_rate"
    )


def period_for(*, entity: LegalEntity, on: date) -> FiscalPeriod | None:
    return FiscalPeriod.objects.filter(entity=entity, start_date__lte=on, end_date__gte=on).first()


PeriodRow = tuple[date, date, str]
"""(start, end, status) of a fiscal period."""


def periods_of(*, entity: LegalEntity, for_posting: bool = False) -> list[PeriodRow]:
    """The entity's periods in date order. `for_posting` holds a share lock on them (PostgreSQL) until
    the caller's transaction ends, so that a period cannot close under an entry being posted into it,
    while postings do not wait for each other."""
    periods = FiscalPeriod.objects.filter(entity=entity).order_by("start_date")
    if for_posting and connection.vendor == "postgresql" and connection.in_atomic_block:
        sql, params = periods.values_list("start_date", "end_date", "status").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} FOR SHARE", params)
            return [(start, end, status) for start, end, status in cursor.fetchall()]
    return list(periods.values_list("start_date", "end_date", "status"))


def posting_date_in(periods: Sequence[PeriodRow], day: date) -> date | None:
    """Where an entry dated `day` posts: on that day when its period is open; when its period is closed,
    on the first day of the first open period after it (a late entry); None without a period for the
    day or an open one after it. `periods` in start-date order."""
    for position, (start, end, status) in enumerate(periods):
        if start <= day <= end:
            if status == FiscalPeriod.Status.OPEN:
                return day
            return next(
                (later for later, _, state in periods[position + 1 :] if state == FiscalPeriod.Status.OPEN),
                None,
            )
    return None


def posting_dates_for(*, entity_id: int, days: Iterable[date]) -> dict[date, date]:
    """Where entries of these business dates post (`posting_date_in`), for the subledgers to record the
    same day as the ledger; a day the ledger would refuse maps to itself (the posting refuses it)."""
    periods = list(
        FiscalPeriod.objects.filter(entity_id=entity_id)
        .order_by("start_date")
        .values_list("start_date", "end_date", "status")
    )
    return {day: posting_date_in(periods, day) or day for day in set(days)}


def posted_lines(*, entity_ids: list[int] | None = None, as_of: date | None = None) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.filter(entry__status=JournalEntry.Status.POSTED)
    if entity_ids is not None:
        lines = lines.filter(entry__entity_id__in=entity_ids)
    if as_of is not None:
        lines = lines.filter(entry__posting_date__lte=as_of)
    return lines


@dataclass(frozen=True)
class TrialBalanceRow:
    entity_code: str
    account_code: str
    account_name: str
    account_type: str
    currency: str
    functional_currency: str
    debit_minor: int
    credit_minor: int
    functional_debit_minor: int
    functional_credit_minor: int


def trial_balance(*, entity_ids: list[int], as_of: date) -> list[TrialBalanceRow]:
    """Net balance per entity, account and transaction currency, as of a posting date (inclusive).

    A balance is shown on its debit or credit side; rows that are zero in both currencies are left out.
    """
    totals = (
        posted_lines(entity_ids=entity_ids, as_of=as_of)
        .values(
            "entry__entity__code",
            "entry__entity__currency",
            "account__code",
            "account__name",
            "account__type",
            "currency",
        )
        .annotate(
            debit=Sum("debit_minor"),
            credit=Sum("credit_minor"),
            functional_debit=Sum("functional_debit_minor"),
            functional_credit=Sum("functional_credit_minor"),
        )
        .order_by("entry__entity__code", "account__code", "currency")
    )
    rows = []
    for total in totals:
        net = total["debit"] - total["credit"]
        functional_net = total["functional_debit"] - total["functional_credit"]
        if net == 0 and functional_net == 0:
            continue
        rows.append(
            TrialBalanceRow(
                entity_code=total["entry__entity__code"],
                account_code=total["account__code"],
                account_name=total["account__name"],
                account_type=total["account__type"],
                currency=total["currency"],
                functional_currency=total["entry__entity__currency"],
                debit_minor=max(net, 0),
                credit_minor=max(-net, 0),
                functional_debit_minor=max(functional_net, 0),
                functional_credit_minor=max(-functional_net, 0),
            )
        )
    return rows


def receivable_balances(
    *, entity_ids: list[int] | None = None, as_of: date | None = None
) -> dict[tuple[int, int | None, str], int]:
    """Receivable-account balance per (entity, customer, currency), in transaction-currency minor units."""
    totals = (
        posted_lines(entity_ids=entity_ids, as_of=as_of)
        .filter(account__type=AccountType.RECEIVABLE)
        .values("entry__entity_id", "customer_id", "currency")
        .annotate(debit=Sum("debit_minor"), credit=Sum("credit_minor"))
    )
    return {
        (t["entry__entity_id"], t["customer_id"], t["currency"]): t["debit"] - t["credit"]
        for t in totals
        if t["debit"] != t["credit"]
    }


def entries_for_document(*, document_id: int) -> QuerySet[JournalEntry]:
    """Entries with a line on the document: its own postings and the batch postings of imports."""
    return (
        JournalEntry.objects.filter(Q(lines__document_id=document_id))
        .distinct()
        .prefetch_related("lines__account")
        .order_by("posting_date", "pk")
    )


def own_bank_account_find(
    *, iban: str | None, account_number: str | None, entity: LegalEntity | None = None
) -> EntityBankAccount | None:
    """A legal entity's own bank account by IBAN, else by account number (compared without spaces)."""
    accounts = EntityBankAccount.objects.select_related("entity")
    if entity is not None:
        accounts = accounts.filter(entity=entity)
    if iban:
        found = accounts.filter(iban=iban.replace(" ", "").upper()).order_by("pk").first()
        if found is not None:
            return found
    if account_number:
        return accounts.filter(account_number=account_number.strip()).order_by("pk").first()
    return None


def credit_balances_by_customer(
    *,
    account_type: AccountType,
    entity_ids: list[int] | None = None,
    as_of: date | None = None,
    customer_id: int | None = None,
) -> dict[tuple[int, int | None, str], int]:
    """Credit balance (credits − debits) of an account type per (entity, customer, currency); with
    `customer_id`, that customer's only."""
    lines = posted_lines(entity_ids=entity_ids, as_of=as_of).filter(account__type=account_type)
    if customer_id is not None:
        lines = lines.filter(customer_id=customer_id)
    totals = lines.values("entry__entity_id", "customer_id", "currency").annotate(
        debit=Sum("debit_minor"), credit=Sum("credit_minor")
    )
    return {
        (t["entry__entity_id"], t["customer_id"], t["currency"]): t["credit"] - t["debit"]
        for t in totals
        if t["debit"] != t["credit"]
    }


def entry_id_by_key(*, idempotency_key: str) -> int | None:
    return JournalEntry.objects.filter(idempotency_key=idempotency_key).values_list("pk", flat=True).first()


def lines_of_entries(
    *,
    entity_id: int,
    account_id: int,
    source_type: str,
    posting_date: date,
    idempotency_keys: tuple[str, str],
) -> list[LineIn]:
    """The lines on one account of the posted entries of a source type on a day whose idempotency key
    is `idempotency_keys[0]` or starts with `idempotency_keys[1]`, as they were posted."""
    exact, prefix = idempotency_keys
    rows = (
        JournalLine.objects.filter(
            account_id=account_id,
            entry__entity_id=entity_id,
            entry__status=JournalEntry.Status.POSTED,
            entry__source_type=source_type,
            entry__posting_date=posting_date,
        )
        .filter(Q(entry__idempotency_key=exact) | Q(entry__idempotency_key__startswith=prefix))
        .order_by("pk")
        .values_list(
            "account_id",
            "currency",
            "debit_minor",
            "credit_minor",
            "customer_id",
            "document_id",
            "memo",
            "functional_debit_minor",
            "functional_credit_minor",
            "fx_rate",
        )
    )
    return [LineIn(*row) for row in rows]


def entry_keys_starting(*, entity_id: int, prefix: str) -> list[str]:
    """The idempotency keys of the entity's entries that start with `prefix`."""
    return list(
        JournalEntry.objects.filter(entity_id=entity_id, idempotency_key__startswith=prefix).values_list(
            "idempotency_key", flat=True
        )
    )


def entry_reversal(*, entry_id: int) -> JournalEntry | None:
    """The entry that reversed this one, if any."""
    return JournalEntry.objects.filter(reverses_id=entry_id).first()


def balances_by_document(
    *, account_id: int, document_ids: Iterable[int], as_of: date | None = None
) -> dict[int, tuple[int, int]]:
    """Per document, its balance on one account (debit positive) in the transaction currency and in the
    functional currency: what settling it must take off, at the rates it was booked at. With `as_of`,
    the balance of the entries posted by that day (what a month-end revaluation carries)."""
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    lines = JournalLine.objects.filter(account_id=account_id, document_id__in=ids)
    if as_of is not None:
        lines = lines.filter(entry__status=JournalEntry.Status.POSTED, entry__posting_date__lte=as_of)
    rows = (
        lines.values("document_id")
        .annotate(
            net=Sum(F("debit_minor") - F("credit_minor")),
            functional=Sum(F("functional_debit_minor") - F("functional_credit_minor")),
        )
        .values_list("document_id", "net", "functional")
    )
    return {
        document_id: (net or 0, functional or 0)
        for document_id, net, functional in rows
        if document_id is not None
    }


def line_rate(*, idempotency_key: str, account_id: int) -> Decimal | None:
    """The rate a posted entry's line on the account was converted at (None: no such line)."""
    return (
        JournalLine.objects.filter(entry__idempotency_key=idempotency_key, account_id=account_id)
        .values_list("fx_rate", flat=True)
        .first()
    )
