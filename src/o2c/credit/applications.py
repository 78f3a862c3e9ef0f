"""Credit applications of new accounts (docs/credit-scoring.md): submitting one with its company data,
requested limit, trade references and financial statements; importing bureau reports from a CSV export;
approving with a decided limit or declining.

Bureau CSV (UTF-8, a BOM accepted, `,` or `;`, header required, columns in any order, extra columns
ignored): `registration_number` and/or `vat_id` (one at least), `bureau`, `score` (0-100),
`failure_class` (1-5, optional), `payment_index` (0-100, optional), `as_of` (YYYY-MM-DD). A row is
matched to the entity's open application (submitted or scored) with that registration number or VAT id,
else to a customer (through its approved application's registration number, or its VAT id). The
import is atomic (a bad row imports nothing and names the row and column) and idempotent (the same
bureau, company and date again changes nothing; other figures for them replace the old ones)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.core.exceptions import DomainError, InputError
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency, format_with_currency
from o2c.credit import limits, scoring
from o2c.credit.models import BureauReport, CreditApplication, CreditScore, FinancialStatement, TradeReference
from o2c.credit.scoring import Actor
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity


class UnableToDecideApplication(DomainError):
    pass


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def normalised_id(text: str) -> str:
    """A VAT id or registration number compared without spaces, dots and dashes, upper case."""
    return re.sub(r"[\s.\-/]", "", text).upper()


def _minor(amount: Decimal, currency: str, field_name: str) -> int:
    try:
        return Money(amount, currency).to_minor()
    except UnableToHandleMoney:
        raise InputError(
            _("%(amount)s has more decimals than %(currency)s allows")
            % {"amount": amount, "currency": currency},
            column=field_name,
            code="too_many_decimals",
        ) from None


# --- submitting ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeReferenceIn:
    name: str
    contact: str
    years_known: int
    highest_credit: Decimal
    currency: str
    payment_experience: str


@dataclass(frozen=True)
class StatementIn:
    statement_date: date
    currency: str
    current_assets: Decimal
    current_liabilities: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    retained_earnings: Decimal
    ebit: Decimal
    sales: Decimal
    equity: Decimal


@dataclass(frozen=True)
class ApplicationIn:
    company_name: str
    country: str
    requested_limit: Decimal
    currency: str
    vat_id: str = ""
    registration_number: str = ""
    address: str = ""
    trade_references: list[TradeReferenceIn] = field(default_factory=list)
    statements: list[StatementIn] = field(default_factory=list)


def _statement_create(
    *, entity_id: int, application: CreditApplication, statement: StatementIn, where: str, now: datetime
) -> FinancialStatement:
    currency = statement.currency.upper()
    try:
        ensure_currency(currency)
    except UnableToHandleMoney:
        raise InputError(
            _("unknown currency '%(currency)s'") % {"currency": currency}, column=f"{where}.currency"
        ) from None
    if statement.total_assets < 0 or statement.total_liabilities < 0:
        raise InputError(
            _("total assets and liabilities cannot be negative"), column=where, code="bad_statement"
        )
    amounts = {
        name: _minor(getattr(statement, name), currency, f"{where}.{name}")
        for name in (
            "current_assets",
            "current_liabilities",
            "total_assets",
            "total_liabilities",
            "retained_earnings",
            "ebit",
            "sales",
            "equity",
        )
    }
    return FinancialStatement.objects.create(
        entity_id=entity_id,
        application=application,
        statement_date=statement.statement_date,
        currency=currency,
        created_at=now,
        **{f"{name}_minor": value for name, value in amounts.items()},
    )


@transaction.atomic
def application_submit(
    *, entity: LegalEntity, data: ApplicationIn, actor: Actor, now: datetime
) -> CreditApplication:
    """Record a new account's application (`submitted`), audited."""
    name = data.company_name.strip()
    if not name:
        raise InputError(_("give the company's name"), column="company_name")
    country = data.country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise InputError(_("give the ISO 3166 country code, e.g. DE"), column="country")
    currency = data.currency.strip().upper()
    try:
        ensure_currency(currency)
    except UnableToHandleMoney:
        raise InputError(
            _("unknown currency '%(currency)s'") % {"currency": currency}, column="currency"
        ) from None
    if data.requested_limit <= 0:
        raise InputError(_("the requested limit must be positive"), column="requested_limit")
    application = CreditApplication.objects.create(
        entity=entity,
        company_name=name,
        country=country,
        vat_id=normalised_id(data.vat_id),
        registration_number=normalised_id(data.registration_number),
        address=data.address.strip(),
        requested_limit_minor=_minor(data.requested_limit, currency, "requested_limit"),
        currency=currency,
        created_at=now,
        created_by=_user(actor),
    )
    for i, reference in enumerate(data.trade_references):
        where = f"trade_references[{i}]"
        if not reference.name.strip():
            raise InputError(_("give the reference's name"), column=f"{where}.name")
        if reference.payment_experience not in TradeReference.Experience.values:
            raise InputError(
                _("payment_experience must be one of %(values)s")
                % {"values": ", ".join(TradeReference.Experience.values)},
                column=f"{where}.payment_experience",
            )
        ref_currency = reference.currency.strip().upper() or currency
        try:
            ensure_currency(ref_currency)
        except UnableToHandleMoney:
            raise InputError(
                _("unknown currency '%(currency)s'") % {"currency": ref_currency}, column=f"{where}.currency"
            ) from None
        if reference.years_known < 0 or reference.highest_credit < 0:
            raise InputError(_("years and amounts cannot be negative"), column=where)
        TradeReference.objects.create(
            application=application,
            name=reference.name.strip(),
            contact=reference.contact.strip(),
            years_known=reference.years_known,
            highest_credit_minor=_minor(reference.highest_credit, ref_currency, f"{where}.highest_credit"),
            currency=ref_currency,
            payment_experience=reference.payment_experience,
        )
    for i, statement in enumerate(data.statements):
        _statement_create(
            entity_id=entity.pk,
            application=application,
            statement=statement,
            where=f"statements[{i}]",
            now=now,
        )
    audit_services.record(
        actor=actor,
        action="credit.application.submitted",
        object_type="credit_application",
        object_id=application.pk,
        object_label=application.company_name,
        entity_id=entity.pk,
        changes={
            "state": (None, application.state),
            "requested_limit": (None, format_with_currency(application.requested_limit_minor, currency)),
        },
        now=now,
    )
    return application


@transaction.atomic
def application_statement_add(
    *, application_id: int, statement: StatementIn, actor: Actor, now: datetime
) -> FinancialStatement:
    """Add a later set of financial statements to an application not decided yet, audited."""
    application = CreditApplication.objects.select_for_update().get(pk=application_id)
    if application.state in (CreditApplication.State.APPROVED, CreditApplication.State.DECLINED):
        raise UnableToDecideApplication(
            _("application %(id)s is %(state)s already") % {"id": application.pk, "state": application.state},
            code="application_decided",
        )
    created = _statement_create(
        entity_id=application.entity_id,
        application=application,
        statement=statement,
        where="statement",
        now=now,
    )
    audit_services.record(
        actor=actor,
        action="credit.application.statement_added",
        object_type="credit_application",
        object_id=application.pk,
        object_label=application.company_name,
        entity_id=application.entity_id,
        changes={"statement_date": (None, statement.statement_date.isoformat())},
        now=now,
    )
    return created


# --- deciding -----------------------------------------------------------------------------------------


def _decidable(application_id: int) -> CreditApplication:
    application = CreditApplication.objects.select_for_update().get(pk=application_id)
    if application.state != CreditApplication.State.SCORED:
        raise UnableToDecideApplication(
            _("application %(id)s is %(state)s: only a scored application is decided")
            % {"id": application.pk, "state": application.state},
            code="not_scored",
        )
    return application


@transaction.atomic
def application_approve(
    *,
    application_id: int,
    limit: Decimal,
    customer: Customer,
    note: str,
    actor: Actor,
    now: datetime,
) -> CreditApplication:
    """Approve a scored application with the decided limit (in the application's currency) for the
    customer account it became, audited: its statements, bureau reports and latest score count for that
    customer from now on (the score sets its risk class and schedules its first review), and the decided
    limit is asked for through the limit service, whose approval threshold and second person apply."""
    application = _decidable(application_id)
    if customer.entity_id != application.entity_id:
        raise InputError(_("the customer belongs to another legal entity"), column="customer_number")
    if limit < 0:
        raise InputError(_("the limit cannot be negative"), column="limit")
    decided = _minor(limit, application.currency, "limit")
    application.state = CreditApplication.State.APPROVED
    application.customer = customer
    application.decided_limit_minor = decided
    application.decision_note = note.strip()
    application.decided_at = now
    application.decided_by = _user(actor)
    score = CreditScore.objects.filter(application=application).order_by("-as_of", "-pk").first()
    review_due = None
    if score is not None and score.risk_class:
        review_due = scoring.score_adopt(score=score, customer=customer, actor=actor, now=now).due_date
    asked = limits.limit_request(
        customer_id=customer.pk,
        amount=limit,
        currency=application.currency,
        valid_until=None,
        next_review_date=review_due,
        reason=_("credit application %(id)s approved") % {"id": application.pk},
        actor=_user(actor),
        now=now,
    )
    application.limit_request_id = asked.pk
    application.save(
        update_fields=[
            "state",
            "customer",
            "decided_limit_minor",
            "decision_note",
            "decided_at",
            "decided_by",
            "limit_request_id",
        ]
    )
    audit_services.record(
        actor=actor,
        action="credit.application.approved",
        object_type="credit_application",
        object_id=application.pk,
        object_label=application.company_name,
        entity_id=application.entity_id,
        changes={
            "state": (CreditApplication.State.SCORED, application.state),
            "customer": (None, customer.number),
            "decided_limit": (None, format_with_currency(decided, application.currency)),
            "limit_request": (None, asked.status),
        },
        reason=application.decision_note,
        now=now,
    )
    return application


@transaction.atomic
def application_decline(*, application_id: int, note: str, actor: Actor, now: datetime) -> CreditApplication:
    """Decline a scored application, with the reason, audited."""
    if not note.strip():
        raise InputError(_("give the reason for declining"), column="note")
    application = _decidable(application_id)
    application.state = CreditApplication.State.DECLINED
    application.decision_note = note.strip()
    application.decided_at = now
    application.decided_by = _user(actor)
    application.save(update_fields=["state", "decision_note", "decided_at", "decided_by"])
    audit_services.record(
        actor=actor,
        action="credit.application.declined",
        object_type="credit_application",
        object_id=application.pk,
        object_label=application.company_name,
        entity_id=application.entity_id,
        changes={"state": (CreditApplication.State.SCORED, application.state)},
        reason=application.decision_note,
        now=now,
    )
    return application


# --- bureau reports from a CSV export -------------------------------------------------------------------

BUREAU_COLUMNS = (
    "registration_number",
    "vat_id",
    "bureau",
    "score",
    "failure_class",
    "payment_index",
    "as_of",
)


@dataclass
class BureauImport:
    file_name: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def _csv_rows(data: bytes, file_name: str) -> list[tuple[int, dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(_("not UTF-8 text"), file=file_name) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in ("bureau", "score", "as_of") if column not in header]
    if missing:
        raise InputError(
            _("missing column(s) %(columns)s") % {"columns": ", ".join(missing)},
            file=file_name,
            column="header",
        )
    if "registration_number" not in header and "vat_id" not in header:
        raise InputError(_("give registration_number or vat_id"), file=file_name, column="header")
    reader.fieldnames = header
    rows = [
        (number, {key: (value or "").strip() for key, value in row.items() if isinstance(key, str)})
        for number, row in enumerate(reader, start=1)
        if any((value or "").strip() for value in row.values() if isinstance(value, str))
    ]
    if not rows:
        raise InputError(_("no rows after the header"), file=file_name)
    return rows


def _whole(row: dict[str, str], column: str, low: int, high: int, file_name: str, number: int) -> int | None:
    text = row.get(column, "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value() or not low <= value <= high:
        raise InputError(
            _("'%(value)s' is not a whole number from %(low)s to %(high)s")
            % {"value": text, "low": low, "high": high},
            column=column,
            file=file_name,
            row=number,
        )
    return int(value)


@transaction.atomic
def bureau_import(
    *, data: bytes, file_name: str, entity: LegalEntity, actor: Actor, now: datetime
) -> BureauImport:
    """Import a bureau export's rows for the entity (see the module docstring); audited per report."""
    rows = _csv_rows(data, file_name)
    result = BureauImport(file_name=file_name, rows=len(rows))
    open_states = (CreditApplication.State.SUBMITTED, CreditApplication.State.SCORED)
    parsed = []
    for number, row in rows:
        registration = normalised_id(row.get("registration_number", ""))
        vat_id = normalised_id(row.get("vat_id", ""))
        if not registration and not vat_id:
            raise InputError(
                _("give registration_number or vat_id"),
                column="registration_number",
                file=file_name,
                row=number,
            )
        bureau = row.get("bureau", "").strip()
        if not bureau:
            raise InputError(_("is empty"), column="bureau", file=file_name, row=number)
        score = _whole(row, "score", 0, 100, file_name, number)
        if score is None:
            raise InputError(_("is empty"), column="score", file=file_name, row=number)
        failure_class = _whole(row, "failure_class", 1, 5, file_name, number)
        payment_index = _whole(row, "payment_index", 0, 100, file_name, number)
        try:
            as_of = date.fromisoformat(row.get("as_of", ""))
        except ValueError:
            raise InputError(
                _("'%(value)s' is not an ISO 8601 date (YYYY-MM-DD)") % {"value": row.get("as_of", "")},
                column="as_of",
                file=file_name,
                row=number,
            ) from None
        application = None
        customer = None
        lookups = [("registration_number", registration), ("vat_id", vat_id)]
        for column, value in lookups:
            if value and application is None:
                application = (
                    CreditApplication.objects.filter(entity=entity, state__in=open_states, **{column: value})
                    .order_by("-pk")
                    .first()
                )
        for column, value in lookups:
            if value and application is None and customer is None:
                approved = (
                    CreditApplication.objects.filter(
                        entity=entity, state=CreditApplication.State.APPROVED, **{column: value}
                    )
                    .select_related("customer")
                    .order_by("-pk")
                    .first()
                )
                customer = approved.customer if approved is not None else None
        if application is None and customer is None and vat_id:
            customer = next(
                (
                    c
                    for c in Customer.objects.filter(entity=entity).exclude(vat_id="")
                    if normalised_id(c.vat_id) == vat_id
                ),
                None,
            )
        if application is None and customer is None:
            column = "registration_number" if registration else "vat_id"
            raise InputError(
                _("no open application or customer with %(id)s") % {"id": registration or vat_id},
                column=column,
                code="unknown_company",
                file=file_name,
                row=number,
            )
        parsed.append(
            (registration, vat_id, bureau, score, failure_class, payment_index, as_of, application, customer)
        )
    for (
        registration,
        vat_id,
        bureau,
        score,
        failure_class,
        payment_index,
        as_of,
        application,
        customer,
    ) in parsed:
        figures = {"score": score, "failure_class": failure_class, "payment_index": payment_index}
        report = BureauReport.objects.filter(
            entity=entity, bureau=bureau, registration_number=registration, vat_id=vat_id, as_of=as_of
        ).first()
        if report is not None and all(getattr(report, k) == v for k, v in figures.items()):
            result.unchanged += 1
            continue
        before = None if report is None else {k: getattr(report, k) for k in figures}
        if report is None:
            report = BureauReport.objects.create(
                entity=entity,
                application=application,
                customer=customer,
                bureau=bureau,
                registration_number=registration,
                vat_id=vat_id,
                as_of=as_of,
                imported_at=now,
                **figures,
            )
            result.created += 1
        else:
            for key, figure in figures.items():
                setattr(report, key, figure)
            report.imported_at = now
            report.save(update_fields=[*figures, "imported_at"])
            result.updated += 1
        audit_services.record(
            actor=actor,
            action="credit.bureau_report.imported",
            object_type="bureau_report",
            object_id=report.pk,
            object_label=f"{bureau} {registration or vat_id} {as_of.isoformat()}",
            entity_id=entity.pk,
            changes={k: (None if before is None else before[k], v) for k, v in figures.items()},
            reason=file_name,
            now=now,
        )
    return result
