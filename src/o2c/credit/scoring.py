"""Credit scoring on the database (docs/credit-scoring.md): the scorecard in force and its changes, the
facts a score reads (financial statements, bureau reports, the customer's payment behaviour), scoring a
customer (the score with its factors kept as history, the risk class and scored date set on the customer,
the next review scheduled by the class) and scoring an application.

The pure arithmetic is `o2c.credit.scorecard`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.cash.models import Payment
from o2c.collections.models import PromiseToPay
from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.credit import scorecard as sc
from o2c.credit.models import (
    BureauReport,
    CreditApplication,
    CreditReview,
    CreditScore,
    FinancialStatement,
    ScorecardVersion,
)
from o2c.customers.models import Customer
from o2c.disputes.models import Case
from o2c.receivables.models import Allocation, DocumentType

Actor = User | AnonymousUser | None


class UnableToScore(DomainError):
    pass


# --- the scorecard in force -------------------------------------------------------------------------


def scorecard_current() -> tuple[ScorecardVersion, sc.Scorecard]:
    """The highest version and its card (a fresh database has version 1, the default)."""
    version = ScorecardVersion.objects.order_by("-version").first()
    if version is None:
        raise UnableToScore(_("no scorecard is set up"), code="no_scorecard")
    return version, sc.scorecard_from_definition(version.definition)


@transaction.atomic
def scorecard_change(
    *, definition: dict[str, Any], note: str, actor: Actor, now: datetime
) -> ScorecardVersion:
    """A credit manager's new version of the scorecard (checked first: a bad one changes nothing),
    audited with what changed at the top level."""
    sc.scorecard_from_definition(definition)
    current = ScorecardVersion.objects.select_for_update().order_by("-version").first()
    number = 1 if current is None else current.version + 1
    before = {} if current is None else current.definition
    version = ScorecardVersion.objects.create(
        version=number,
        definition=definition,
        note=note.strip(),
        created_at=now,
        created_by=actor if isinstance(actor, User) else None,
    )
    changes = {
        key: (before.get(key), definition.get(key))
        for key in sorted(set(before) | set(definition))
        if before.get(key) != definition.get(key)
    }
    audit_services.record(
        actor=actor,
        action="credit.scorecard.changed",
        object_type="scorecard",
        object_id=version.pk,
        object_label=f"v{number}",
        changes={"version": (None if current is None else current.version, number), **changes},
        reason=note.strip(),
        now=now,
    )
    return version


# --- the facts a score reads ------------------------------------------------------------------------


def financials_of(statement: FinancialStatement | None) -> sc.Financials | None:
    if statement is None:
        return None

    def amount(minor: int) -> Decimal:
        return Money.from_minor(minor, statement.currency).amount

    return sc.Financials(
        currency=statement.currency,
        current_assets=amount(statement.current_assets_minor),
        current_liabilities=amount(statement.current_liabilities_minor),
        total_assets=amount(statement.total_assets_minor),
        total_liabilities=amount(statement.total_liabilities_minor),
        retained_earnings=amount(statement.retained_earnings_minor),
        ebit=amount(statement.ebit_minor),
        sales=amount(statement.sales_minor),
        equity=amount(statement.equity_minor),
    )


def _owned_by(customer: Customer | None, application: CreditApplication | None) -> Q:
    """A customer's own facts and those of the applications it came from; an application's own."""
    if customer is not None:
        return Q(customer=customer) | Q(application__customer=customer)
    return Q(application=application)


def latest_statement(
    *, customer: Customer | None = None, application: CreditApplication | None = None, as_of: date
) -> FinancialStatement | None:
    return (
        FinancialStatement.objects.filter(_owned_by(customer, application), statement_date__lte=as_of)
        .order_by("-statement_date", "-pk")
        .first()
    )


def latest_bureau_report(
    *, customer: Customer | None = None, application: CreditApplication | None = None, as_of: date
) -> BureauReport | None:
    return (
        BureauReport.objects.filter(_owned_by(customer, application), as_of__lte=as_of)
        .order_by("-as_of", "-pk")
        .first()
    )


def _paid_late(customer: Customer, after: date, through: date) -> list[tuple[int, int]]:
    """(amount, days after the due date) of the cash applied to the customer's invoices and debit memos in
    its own currency and posted in (after, through]; reversed applications and their reversals left out."""
    rows = (
        Allocation.objects.filter(
            document__customer=customer,
            document__document_type__in=(DocumentType.INVOICE, DocumentType.DEBIT_MEMO),
            currency=customer.currency,
            kind=Allocation.Kind.PAYMENT,
            reverses__isnull=True,
            reversed_by__isnull=True,
            posting_date__gt=after,
            posting_date__lte=through,
        )
        .values_list("amount_minor", "posting_date", "document__due_date")
        .order_by("pk")
    )
    return [(amount, (posted - due).days) for amount, posted, due in rows]


@dataclass(frozen=True)
class Behaviour:
    days_beyond_terms: Decimal | None
    days_beyond_terms_3m: Decimal | None
    trend: Decimal | None
    broken_promises: int | None
    disputes: int | None
    returned_payments: int | None

    def values(self) -> dict[str, Decimal | None]:
        def count(value: int | None) -> Decimal | None:
            return None if value is None else Decimal(value)

        return {
            sc.DAYS_BEYOND_TERMS: self.days_beyond_terms,
            sc.DBT_TREND: self.trend,
            sc.BROKEN_PROMISES: count(self.broken_promises),
            sc.DISPUTES: count(self.disputes),
            sc.RETURNED_PAYMENTS: count(self.returned_payments),
        }


def payment_behaviour(*, customer: Customer, as_of: date) -> Behaviour:
    """The customer's behaviour over the 12 months up to `as_of` (after as_of − 12 months, through as_of):
    days beyond terms weighted by amount, the same over the last 3 months and the difference, promises
    broken, dispute and deduction cases opened, payments returned. A customer with no invoice issued by
    then has no history: every factor missing."""
    year_ago = as_of - relativedelta(months=12)
    quarter_ago = as_of - relativedelta(months=3)
    has_history = customer.documents.filter(
        status="issued", document_type=DocumentType.INVOICE, issue_date__lte=as_of
    ).exists()
    if not has_history:
        return Behaviour(None, None, None, None, None, None)
    year = sc.weighted_days_late(_paid_late(customer, year_ago, as_of))
    quarter = sc.weighted_days_late(_paid_late(customer, quarter_ago, as_of))
    broken = PromiseToPay.objects.filter(
        customer=customer,
        state=PromiseToPay.State.BROKEN,
        judged_on__gt=year_ago,
        judged_on__lte=as_of,
    ).count()
    disputes = Case.objects.filter(customer=customer, opened_on__gt=year_ago, opened_on__lte=as_of).count()
    returned = Payment.objects.filter(
        customer=customer,
        status=Payment.Status.RETURNED,
        returned_on__gt=year_ago,
        returned_on__lte=as_of,
    ).count()
    return Behaviour(
        days_beyond_terms=year,
        days_beyond_terms_3m=quarter,
        trend=sc.dbt_trend(quarter, year),
        broken_promises=broken,
        disputes=disputes,
        returned_payments=returned,
    )


def bureau_values(report: BureauReport | None) -> dict[str, Decimal | None]:
    if report is None:
        return {sc.BUREAU_SCORE: None, sc.BUREAU_PAYMENT_INDEX: None, sc.BUREAU_FAILURE_CLASS: None}
    return {
        sc.BUREAU_SCORE: Decimal(report.score),
        sc.BUREAU_PAYMENT_INDEX: None if report.payment_index is None else Decimal(report.payment_index),
        sc.BUREAU_FAILURE_CLASS: None if report.failure_class is None else Decimal(report.failure_class),
    }


def _inputs(
    statement: FinancialStatement | None, report: BureauReport | None, behaviour: Behaviour | None
) -> dict[str, Any]:
    """What the score read, kept beside its factors so the figures can be traced."""
    inputs: dict[str, Any] = {
        "financial_statement": None
        if statement is None
        else {
            "id": statement.pk,
            "statement_date": statement.statement_date.isoformat(),
            "currency": statement.currency,
        },
        "bureau_report": None
        if report is None
        else {
            "id": report.pk,
            "bureau": report.bureau,
            "as_of": report.as_of.isoformat(),
            "failure_class": report.failure_class,
        },
    }
    if behaviour is not None:
        inputs["days_beyond_terms_3m"] = (
            None if behaviour.days_beyond_terms_3m is None else str(behaviour.days_beyond_terms_3m)
        )
    return inputs


def _store(
    *,
    entity_id: int,
    version: ScorecardVersion,
    result: sc.ScoreResult,
    as_of: date,
    inputs: dict[str, Any],
    customer: Customer | None,
    application: CreditApplication | None,
    actor: Actor,
    now: datetime,
) -> CreditScore:
    record = sc.result_record(result)
    limit = result.recommended_limit
    return CreditScore.objects.create(
        entity_id=entity_id,
        customer=customer,
        application=application,
        scorecard=version,
        as_of=as_of,
        total=result.total,
        risk_class=result.risk_class or "",
        recommended_limit_minor=None if limit is None else limit.to_minor(),
        currency="" if limit is None else limit.currency,
        limit_basis=result.limit_basis,
        factors={"factors": record["factors"], "inputs": inputs},
        created_at=now,
        created_by=actor if isinstance(actor, User) else None,
    )


def review_schedule(
    *, customer: Customer, risk_class: str, months: int, as_of: date, now: datetime
) -> CreditReview:
    """The customer's open review, due `months` after `as_of` (created, or moved to the new date)."""
    due = as_of + relativedelta(months=months)
    review = (
        CreditReview.objects.select_for_update()
        .filter(customer=customer, state=CreditReview.State.OPEN)
        .first()
    )
    if review is None:
        return CreditReview.objects.create(
            entity_id=customer.entity_id,
            customer=customer,
            risk_class=risk_class,
            due_date=due,
            created_at=now,
        )
    review.risk_class, review.due_date = risk_class, due
    review.save(update_fields=["risk_class", "due_date"])
    return review


@transaction.atomic
def customer_score(*, customer_id: int, as_of: date, actor: Actor, now: datetime) -> CreditScore:
    """Score an existing customer as of a date with the scorecard in force: its latest financial
    statements and bureau report up to then and its payment behaviour. Keeps the score with all its
    factors, sets the customer's risk class and scored date and schedules its next review by the class,
    audited. Refused (`no_factors`) when nothing at all is known."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    version, card = scorecard_current()
    statement = latest_statement(customer=customer, as_of=as_of)
    report = latest_bureau_report(customer=customer, as_of=as_of)
    behaviour = payment_behaviour(customer=customer, as_of=as_of)
    figures = financials_of(statement)
    values = {**sc.financial_values(figures), **behaviour.values(), **bureau_values(report)}
    result = sc.evaluate(card, values, figures)
    if result.risk_class is None:
        raise UnableToScore(
            _(
                "nothing is known about customer %(number)s to score it: "
                "no financial statements, bureau report or payment history"
            )
            % {"number": customer.number},
            code="no_factors",
        )
    stored = _store(
        entity_id=customer.entity_id,
        version=version,
        result=result,
        as_of=as_of,
        inputs=_inputs(statement, report, behaviour),
        customer=customer,
        application=None,
        actor=actor,
        now=now,
    )
    before = (customer.risk_class, customer.risk_scored_on)
    customer.risk_class, customer.risk_scored_on = result.risk_class, as_of
    customer.save(update_fields=["risk_class", "risk_scored_on"])
    review = review_schedule(
        customer=customer,
        risk_class=result.risk_class,
        months=card.class_rule(result.risk_class).review_months,
        as_of=as_of,
        now=now,
    )
    audit_services.record(
        actor=actor,
        action="credit.customer.scored",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={
            "risk_class": (before[0] or None, result.risk_class),
            "risk_scored_on": (None if before[1] is None else before[1].isoformat(), as_of.isoformat()),
            "score": (None, str(result.total)),
            "next_review": (None, review.due_date.isoformat()),
        },
        now=now,
    )
    return stored


@transaction.atomic
def score_adopt(*, score: CreditScore, customer: Customer, actor: Actor, now: datetime) -> CreditReview:
    """An approved application's score becomes the customer's: in its history, its risk class and
    scored date, its next review scheduled by the class; audited. Returns the open review."""
    _version, card = scorecard_current()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    score.customer = customer
    score.save(update_fields=["customer"])
    before = customer.risk_class
    customer.risk_class, customer.risk_scored_on = score.risk_class, score.as_of
    customer.save(update_fields=["risk_class", "risk_scored_on"])
    review = review_schedule(
        customer=customer,
        risk_class=score.risk_class,
        months=card.class_rule(score.risk_class).review_months,
        as_of=score.as_of,
        now=now,
    )
    audit_services.record(
        actor=actor,
        action="credit.customer.scored",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={
            "risk_class": (before or None, score.risk_class),
            "risk_scored_on": (None, score.as_of.isoformat()),
            "score": (None, str(score.total)),
            "next_review": (None, review.due_date.isoformat()),
        },
        reason=_("the score of credit application %(id)s") % {"id": score.application_id},
        now=now,
    )
    return review


def application_result(
    *, application: CreditApplication, as_of: date
) -> tuple[ScorecardVersion, sc.ScoreResult, dict[str, Any]]:
    version, card = scorecard_current()
    statement = latest_statement(application=application, as_of=as_of)
    report = latest_bureau_report(application=application, as_of=as_of)
    figures = financials_of(statement)
    values = {**sc.financial_values(figures), **bureau_values(report)}
    return version, sc.evaluate(card, values, figures), _inputs(statement, report, None)


@transaction.atomic
def application_score(*, application_id: int, as_of: date, actor: Actor, now: datetime) -> CreditScore:
    """Score a new account's application on its financial statements and bureau report (no payment
    history yet: those factors are missing and the weights renormalised); it becomes `scored`."""
    application = CreditApplication.objects.select_for_update().get(pk=application_id)
    if application.state not in (CreditApplication.State.SUBMITTED, CreditApplication.State.SCORED):
        raise UnableToScore(
            _("application %(id)s is %(state)s already") % {"id": application.pk, "state": application.state},
            code="application_decided",
        )
    version, result, inputs = application_result(application=application, as_of=as_of)
    if result.risk_class is None:
        raise UnableToScore(
            _("application %(id)s has no financial statements and no bureau report to score")
            % {"id": application.pk},
            code="no_factors",
        )
    stored = _store(
        entity_id=application.entity_id,
        version=version,
        result=result,
        as_of=as_of,
        inputs=inputs,
        customer=None,
        application=application,
        actor=actor,
        now=now,
    )
    before = application.state
    application.state = CreditApplication.State.SCORED
    application.save(update_fields=["state"])
    audit_services.record(
        actor=actor,
        action="credit.application.scored",
        object_type="credit_application",
        object_id=application.pk,
        object_label=application.company_name,
        entity_id=application.entity_id,
        changes={
            "state": (before, application.state),
            "score": (None, str(result.total)),
            "risk_class": (None, result.risk_class),
        },
        now=now,
    )
    return stored


def score_record(score: CreditScore) -> dict[str, Any]:
    """A stored score as plain JSON (the API and `o2c credit score --format json`)."""
    stored: dict[str, Any] = score.factors if isinstance(score.factors, dict) else {"factors": score.factors}
    return {
        "id": score.pk,
        "customer": None if score.customer is None else score.customer.number,
        "application": score.application_id,
        "as_of": score.as_of.isoformat(),
        "scorecard_version": score.scorecard.version,
        "total": None if score.total is None else str(score.total),
        "risk_class": score.risk_class or None,
        "recommended_limit": None
        if score.recommended_limit_minor is None
        else Money.from_minor(score.recommended_limit_minor, score.currency).plain(),
        "currency": score.currency or None,
        "limit_basis": score.limit_basis,
        "factors": stored.get("factors", []),
        "inputs": stored.get("inputs", {}),
    }


def customer_scores(*, customer: Customer) -> list[CreditScore]:
    """A customer's scores, newest first."""
    return list(
        CreditScore.objects.filter(customer=customer)
        .select_related("scorecard", "customer")
        .order_by("-as_of", "-pk")
    )
