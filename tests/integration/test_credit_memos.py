"""Corrections: credit memos by line (quantity or amount), by an amount over the tax rates, in full,
credit-and-rebill, and maker-checker approval above a threshold. Amounts worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.core import checks
from o2c.core.exceptions import DomainError
from o2c.customers.models import Customer
from o2c.ledger.models import JournalEntry, LegalEntity
from o2c.receivables import services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import ApprovalPolicy, Document, DocumentLine, TaxLine
from o2c.receivables.services import CreditLineIn
from tests.conftest import NOW, issued_invoice, make_user

pytestmark = pytest.mark.django_db

ON = date(2026, 3, 10)


def verify() -> dict[str, list[str]]:
    return {check.name: check.run() for check in checks.all_checks()}


def invoice_line(invoice: Document, position: int = 1) -> DocumentLine:
    return invoice.lines.get(position=position)


def by_lines(invoice: Document, credits: list[CreditLineIn], actor: User | None = None, **kw) -> Document:
    return services.credit_memo_for_lines(
        invoice_id=invoice.pk,
        lines=credits,
        reason_code=kw.pop("reason_code", "returned_goods"),
        reason=kw.pop("reason", "3 units came back damaged"),
        actor=actor,
        now=NOW,
        issue_date=ON,
        **kw,
    )


def full(invoice: Document, actor: User | None = None, **kw) -> Document:
    return services.credit_memo_full(
        invoice_id=invoice.pk,
        reason_code=kw.pop("reason_code", "duplicate_billing"),
        reason=kw.pop("reason", "billed twice"),
        actor=actor,
        now=NOW,
        issue_date=ON,
        **kw,
    )


def by_amount(invoice: Document, amount: str, actor: User | None = None, **kw) -> Document:
    return services.credit_memo_for_amount(
        invoice_id=invoice.pk,
        net_amount=Decimal(amount),
        reason_code=kw.pop("reason_code", "pricing_error"),
        reason=kw.pop("reason", "agreed discount not applied"),
        actor=actor,
        now=NOW,
        issue_date=ON,
        **kw,
    )


def totals(document: Document) -> tuple[int, int, int, int]:
    document.refresh_from_db()
    return (document.net_minor, document.tax_minor, document.total_minor, document.open_minor)


def tax_lines(document: Document) -> list[tuple[str, int, int]]:
    return [
        (str(t.rate.normalize()), t.base_minor, t.tax_minor)
        for t in TaxLine.objects.filter(document=document).order_by("rate")
    ]


@pytest.fixture
def maker(entity: LegalEntity) -> User:
    return make_user("bianca", "billing", entities=[entity])


@pytest.fixture
def checker(entity: LegalEntity) -> User:
    return make_user("marta", "ar_manager", entities=[entity])


@pytest.fixture
def two_rates(customer: Customer) -> Document:
    """Net 300.00: 200.00 at 19 % (tax 38.00) and 100.00 at 7 % (tax 7.00); total 345.00."""
    return issued_invoice(
        customer,
        lines=[
            LineIn("Software licence", Decimal(1), Decimal("200.00"), Decimal(19)),
            LineIn("Handbook", Decimal(1), Decimal("100.00"), Decimal(7)),
        ],
    )


class TestCreditByLines:
    def test_a_quantity_credit_takes_the_line_at_its_original_rate_and_settles_that_much(
        self, customer, maker
    ):
        invoice = issued_invoice(customer, po_number="PO-4711")  # 10 x 100.00 at 19 %: 1190.00
        line = invoice_line(invoice)
        memo = by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(3))], actor=maker)
        # 3 x 100.00 = 300.00 net, 57.00 tax
        assert totals(memo) == (-30000, -5700, -35700, 0)
        assert (memo.number, memo.status, memo.reason_code, memo.notes, memo.po_number) == (
            "CM-2026-000001",
            "issued",
            "returned_goods",
            "3 units came back damaged",
            "PO-4711",
        )
        credit_line = memo.lines.get()
        assert (
            credit_line.credits_line_id,
            credit_line.credited_quantity,
            credit_line.quantity,
            credit_line.unit_price,
            credit_line.tax_rate,
            credit_line.tax_category,
            credit_line.description,
            credit_line.net_minor,
        ) == (line.pk, Decimal(3), Decimal(3), Decimal("100.00"), Decimal(19), "S", "Consulting", 30000)
        assert totals(invoice)[3] == 83300  # 1190.00 - 357.00
        assert invoice.settlement == "partially_paid"
        assert verify() == {check.name: [] for check in checks.all_checks()}

    def test_partial_credits_reverse_the_tax_to_the_cent(self, customer):
        # 3 x 10.01 = 30.03 net; 19 % = 5.7057 -> 5.71 tax; 35.74 in all
        invoice = issued_invoice(
            customer, lines=[LineIn("Widget", Decimal(3), Decimal("10.01"), Decimal(19))]
        )
        line = invoice_line(invoice)
        first = by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(1))])
        second = by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(1))])
        # 10.01 net; 1.9019 -> 1.90 tax each
        assert totals(first) == totals(second) == (-1001, -190, -1191, 0)
        last = by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(1))])
        # the last unit takes the tax that is left: 5.71 - 2 x 1.90 = 1.91, not 1.90
        assert totals(last) == (-1001, -191, -1192, 0)
        assert totals(invoice)[3] == 0
        assert invoice.settlement == "credited"

    def test_an_amount_credit_on_a_line_takes_no_quantity(self, customer):
        invoice = issued_invoice(customer)
        line = invoice_line(invoice)
        memo = by_lines(
            invoice, [CreditLineIn(line.pk, amount=Decimal("50.00"))], reason_code="pricing_error"
        )
        assert totals(memo) == (-5000, -950, -5950, 0)
        credit_line = memo.lines.get()
        assert (credit_line.quantity, credit_line.unit_price, credit_line.credited_quantity) == (
            Decimal(1),
            Decimal("50.00"),
            Decimal(0),
        )
        # all 10 units can still come back: 5 at their full 500.00, and the last 5 take the 450.00 left
        assert totals(by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(5))]))[0] == -50000
        assert totals(by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(5))]))[0] == -45000
        assert totals(invoice)[3] == 0
        with pytest.raises(DomainError) as refused:
            by_lines(invoice, [CreditLineIn(line.pk, amount=Decimal("0.01"))])
        assert refused.value.code == "exceeds_line"

    def test_a_line_cannot_be_credited_beyond_its_quantity_and_nothing_changes(self, customer):
        invoice = issued_invoice(customer)
        line = invoice_line(invoice)
        by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(7))])
        before = (Document.objects.count(), AuditEvent.objects.count(), JournalEntry.objects.count())
        with pytest.raises(DomainError) as refused:
            by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(4))])
        assert (refused.value.code, refused.value.message) == (
            "exceeds_line",
            "line 1: 4 is more than the 3 left to credit",
        )
        with pytest.raises(DomainError) as by_money:
            by_lines(invoice, [CreditLineIn(line.pk, amount=Decimal("300.01"))])
        assert by_money.value.code == "exceeds_line"
        assert (Document.objects.count(), AuditEvent.objects.count(), JournalEntry.objects.count()) == before
        assert totals(invoice)[3] == 35700  # 3 x 119.00 still open

    @pytest.mark.parametrize(
        ("credit", "code"),
        [
            (CreditLineIn(0, quantity=Decimal(1)), "unknown_line"),
            (CreditLineIn(-1), "quantity_or_amount"),
            (CreditLineIn(-1, quantity=Decimal(1), amount=Decimal(1)), "quantity_or_amount"),
            (CreditLineIn(-1, quantity=Decimal(0)), "bad_quantity"),
            (CreditLineIn(-1, amount=Decimal("0.001")), "too_many_decimals"),
        ],
    )
    def test_bad_credit_lines_are_refused(self, customer, credit, code):
        invoice = issued_invoice(customer)
        line_id = credit.line_id if credit.line_id == 0 else invoice_line(invoice).pk
        with pytest.raises(DomainError) as refused:
            by_lines(invoice, [CreditLineIn(line_id, credit.quantity, credit.amount)])
        assert refused.value.code == code
        assert not Document.objects.filter(document_type="credit_memo").exists()

    def test_a_line_of_another_invoice_is_refused(self, customer):
        invoice, other = issued_invoice(customer), issued_invoice(customer)
        with pytest.raises(DomainError) as refused:
            by_lines(invoice, [CreditLineIn(invoice_line(other).pk, quantity=Decimal(1))])
        assert refused.value.code == "unknown_line"

    @pytest.mark.parametrize(
        ("reason_code", "reason", "code"),
        [("typo", "x", "bad_reason_code"), ("other", " ", "reason_required")],
    )
    def test_a_reason_code_and_a_reason_are_required(self, customer, reason_code, reason, code):
        invoice = issued_invoice(customer)
        with pytest.raises(DomainError) as refused:
            by_lines(
                invoice,
                [CreditLineIn(invoice_line(invoice).pk, quantity=Decimal(1))],
                reason_code=reason_code,
                reason=reason,
            )
        assert refused.value.code == code

    def test_a_draft_invoice_cannot_be_credited(self, customer):
        draft = services.document_create(
            customer=customer,
            document_type="invoice",
            issue_date=ON,
            lines=[LineIn("X", Decimal(1), Decimal(10))],
            actor=None,
            now=NOW,
        )
        with pytest.raises(DomainError) as refused:
            full(draft)
        assert refused.value.code == "bad_correction"


class TestCreditByAmount:
    def test_an_amount_is_spread_over_the_rates_by_their_bases_and_sums_exactly(self, two_rates):
        memo = by_amount(two_rates, "100.00")
        # 100.00 in the ratio 200:100 = 66.666... and 33.333...; the cent of residue goes to the larger
        # remainder: 66.67 at 19 % (tax 12.6673 -> 12.67) and 33.33 at 7 % (tax 2.3331 -> 2.33)
        assert tax_lines(memo) == [("7", 3333, 233), ("19", 6667, 1267)]
        assert totals(memo) == (-10000, -1500, -11500, 0)
        assert [
            (line.net_minor, line.tax_rate, line.credits_line_id) for line in memo.lines.order_by("position")
        ] == [
            (3333, Decimal(7), None),
            (6667, Decimal(19), None),
        ]
        assert totals(two_rates)[3] == 23000  # 345.00 - 115.00

    def test_a_full_credit_after_an_amount_credits_what_is_left_per_rate_and_settles(self, two_rates):
        by_amount(two_rates, "100.00")
        memo = full(two_rates)
        # what is left: 133.33 net at 19 % with 38.00 - 12.67 = 25.33 tax,
        # and 66.67 net at 7 % with 7.00 - 2.33 = 4.67 tax
        assert tax_lines(memo) == [("7", 6667, 467), ("19", 13333, 2533)]
        assert totals(memo) == (-20000, -3000, -23000, 0)
        assert totals(two_rates)[3] == 0
        assert two_rates.settlement == "credited"

    def test_an_amount_at_one_rate_stays_at_that_rate(self, two_rates):
        memo = by_amount(two_rates, "100.00", tax_rate=Decimal(7))
        assert tax_lines(memo) == [("7", 10000, 700)]
        with pytest.raises(DomainError) as refused:
            by_amount(two_rates, "0.01", tax_rate=Decimal(7))
        assert refused.value.code == "exceeds_invoice"
        with pytest.raises(DomainError) as unknown:
            by_amount(two_rates, "1.00", tax_rate=Decimal(16))
        assert unknown.value.code == "unknown_rate"

    def test_more_than_the_net_left_is_refused(self, two_rates):
        with pytest.raises(DomainError) as refused:
            by_amount(two_rates, "300.01")
        assert refused.value.code == "exceeds_invoice"
        assert not Document.objects.filter(document_type="credit_memo").exists()


class TestFullCredit:
    def test_a_full_credit_after_a_partial_one_takes_every_line_at_what_is_left(self, customer):
        invoice = issued_invoice(
            customer,
            lines=[
                LineIn("Consulting", Decimal(10), Decimal("100.00"), Decimal(19)),
                LineIn("Travel", Decimal(1), Decimal("80.00"), Decimal(19)),
            ],
        )  # 1080.00 net, 205.20 tax, 1285.20
        by_lines(invoice, [CreditLineIn(invoice_line(invoice).pk, quantity=Decimal(3))])  # 357.00
        memo = full(invoice)
        assert [
            (line.description, line.credited_quantity, line.net_minor)
            for line in memo.lines.order_by("position")
        ] == [
            ("Consulting", Decimal(7), 70000),
            ("Travel", Decimal(1), 8000),
        ]
        # 780.00 net; tax left 205.20 - 57.00 = 148.20
        assert totals(memo) == (-78000, -14820, -92820, 0)
        assert totals(invoice)[3] == 0
        assert invoice.settlement == "credited"
        with pytest.raises(DomainError) as refused:
            full(invoice)
        assert refused.value.code == "nothing_to_credit"
        assert verify() == {check.name: [] for check in checks.all_checks()}

    def test_a_full_credit_of_a_paid_invoice_leaves_an_open_credit(self, customer):
        invoice = issued_invoice(customer)
        services.allocation_create(
            document_id=invoice.pk, kind="payment", amount_minor=119000, posting_date=ON, actor=None, now=NOW
        )
        memo = full(invoice)
        assert totals(memo) == (-100000, -19000, -119000, -119000)  # nothing to settle: credit on account


class TestCreditAndRebill:
    def test_credits_the_invoice_and_drafts_its_replacement_linked_to_it(self, customer, maker):
        invoice = issued_invoice(customer, po_number="PO-4711", payment_terms="2/10NET30")
        memo, rebill = services.credit_and_rebill(
            invoice_id=invoice.pk,
            lines=[LineIn("Consulting", Decimal(10), Decimal("90.00"), Decimal(19))],
            reason_code="pricing_error",
            reason="contract rate is 90.00",
            actor=maker,
            now=NOW,
            issue_date=ON,
        )
        assert (memo.number, memo.corrects_id, memo.reason_code) == (
            "CM-2026-000001",
            invoice.pk,
            "pricing_error",
        )
        assert totals(memo) == (-100000, -19000, -119000, 0)
        assert totals(invoice)[3] == 0
        rebill.refresh_from_db()
        assert (
            rebill.status,
            rebill.rebills_id,
            rebill.customer_id,
            rebill.currency,
            rebill.po_number,
            rebill.payment_terms,
            rebill.reason_code,
            rebill.total_minor,
        ) == ("draft", invoice.pk, customer.pk, "EUR", "PO-4711", "2/10NET30", "", 107100)
        assert list(invoice.rebilled_by.all()) == [rebill]
        rebilled = AuditEvent.objects.get(action="receivables.document.rebilled")
        assert (rebilled.object_id, rebilled.actor, rebilled.reason, rebilled.changes) == (
            invoice.pk,
            maker,
            "contract rate is 90.00",
            {
                "reason_code": [None, "pricing_error"],
                "credit_memo": [None, "CM-2026-000001"],
                "rebill": [None, f"draft {rebill.pk}"],
            },
        )
        created = AuditEvent.objects.filter(
            action="receivables.document.created", object_id__in=[memo.pk, rebill.pk]
        )
        assert sorted((event.object_id, event.reason) for event in created) == [
            (memo.pk, "contract rate is 90.00"),
            (rebill.pk, "contract rate is 90.00"),
        ]
        issued = services.document_issue(document_id=rebill.pk, actor=maker, now=NOW)
        assert (issued.number, issued.open_minor) == ("INV-2026-000002", 107100)

    def test_a_refused_rebill_leaves_no_credit_memo(self, customer):
        invoice = issued_invoice(customer)
        with pytest.raises(DomainError) as refused:
            services.credit_and_rebill(
                invoice_id=invoice.pk,
                lines=[],
                reason_code="pricing_error",
                reason="x",
                actor=None,
                now=NOW,
                issue_date=ON,
            )
        assert refused.value.code == "no_lines"
        assert Document.objects.count() == 1
        assert totals(invoice)[3] == 119000


def set_threshold(entity: LegalEntity, amount: str | None, currency: str = "EUR") -> ApprovalPolicy | None:
    return services.approval_policy_set(
        entity_id=entity.pk,
        currency=currency,
        threshold=None if amount is None else Decimal(amount),
        actor=None,
        now=NOW,
        reason="SOX control AR-07",
    )


class TestApproval:
    def test_the_threshold_is_audited(self, entity):
        set_threshold(entity, "1000.00")
        set_threshold(entity, "500.00")
        set_threshold(entity, None)
        assert [
            (e.changes["threshold"], e.reason)
            for e in AuditEvent.objects.filter(action="receivables.approval_policy.changed").order_by("pk")
        ] == [
            ([None, "1000.00 EUR"], "SOX control AR-07"),
            (["1000.00 EUR", "500.00 EUR"], "SOX control AR-07"),
            (["500.00 EUR", None], "SOX control AR-07"),
        ]
        assert not ApprovalPolicy.objects.exists()

    def test_up_to_the_threshold_a_credit_memo_is_issued_at_once(self, entity, customer, maker):
        set_threshold(entity, "357.00")
        invoice = issued_invoice(customer)
        memo = by_lines(invoice, [CreditLineIn(invoice_line(invoice).pk, quantity=Decimal(3))], actor=maker)
        assert (memo.status, memo.approval_state, memo.total_minor) == ("issued", "not_required", -35700)

    def test_a_policy_in_another_currency_asks_for_nothing(self, entity, customer, maker):
        set_threshold(entity, "0.00", currency="USD")
        memo = full(issued_invoice(customer), actor=maker)
        assert (memo.status, memo.approval_state) == ("issued", "not_required")

    def test_above_the_threshold_it_waits_and_only_another_person_approves_it(
        self, entity, customer, maker, checker
    ):
        set_threshold(entity, "1000.00")
        invoice = issued_invoice(customer)
        memo = full(invoice, actor=maker)  # 1190.00 > 1000.00
        assert (memo.status, memo.approval_state, memo.number, memo.created_by) == (
            "draft",
            "pending",
            None,
            maker,
        )
        assert totals(invoice)[3] == 119000  # nothing settled yet

        with pytest.raises(DomainError) as blocked:
            services.document_issue(document_id=memo.pk, actor=maker, now=NOW)
        assert blocked.value.code == "approval_pending"
        events = AuditEvent.objects.count()
        with pytest.raises(DomainError) as self_approval:
            services.credit_memo_approve(document_id=memo.pk, actor=maker, now=NOW, reason="looks right")
        assert self_approval.value.code == "same_person"
        memo.refresh_from_db()
        assert (memo.approval_state, AuditEvent.objects.count()) == ("pending", events)

        approved = services.credit_memo_approve(document_id=memo.pk, actor=checker, now=NOW, reason="checked")
        assert (approved.approval_state, approved.approval_decided_by, approved.approval_decided_at) == (
            "approved",
            checker,
            NOW,
        )
        issued = services.document_issue(document_id=memo.pk, actor=maker, now=NOW)
        assert (issued.number, issued.status) == ("CM-2026-000001", "issued")
        assert totals(invoice)[3] == 0

        trail = [
            (e.action, e.actor_label, e.reason, e.changes.get("approval_state"))
            for e in AuditEvent.objects.filter(object_id=memo.pk, object_type="document").order_by("pk")
        ]
        assert trail == [
            ("receivables.document.created", "bianca", "billed twice", [None, "pending"]),
            ("receivables.credit_memo.approved", "marta", "checked", ["pending", "approved"]),
            ("receivables.document.issued", "bianca", "", None),
        ]

    def test_a_rejected_credit_memo_is_never_issued_and_frees_what_it_took(
        self, entity, customer, maker, checker
    ):
        set_threshold(entity, "100.00")
        invoice = issued_invoice(customer)
        line = invoice_line(invoice)
        memo = by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(10))], actor=maker)
        with pytest.raises(DomainError) as reasonless:
            services.credit_memo_reject(document_id=memo.pk, actor=checker, now=NOW, reason="")
        assert reasonless.value.code == "reason_required"
        # while it waits, it reserves the line
        with pytest.raises(DomainError):
            by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(1))], actor=maker)
        rejected = services.credit_memo_reject(
            document_id=memo.pk, actor=checker, now=NOW, reason="goods were not returned"
        )
        assert rejected.approval_state == "rejected"
        with pytest.raises(DomainError) as refused:
            services.document_issue(document_id=memo.pk, actor=maker, now=NOW)
        assert refused.value.code == "approval_rejected"
        with pytest.raises(DomainError) as again:
            services.credit_memo_approve(document_id=memo.pk, actor=checker, now=NOW, reason="")
        assert again.value.code == "not_pending"
        event = AuditEvent.objects.get(action="receivables.credit_memo.rejected")
        assert (event.actor, event.reason) == (checker, "goods were not returned")
        # the line is free again
        second = by_lines(invoice, [CreditLineIn(line.pk, quantity=Decimal(10))], actor=maker)
        assert second.approval_state == "pending"

    def test_a_rebill_waits_for_its_credit_memo(self, entity, customer, maker, checker):
        set_threshold(entity, "1000.00")
        invoice = issued_invoice(customer)
        memo, rebill = services.credit_and_rebill(
            invoice_id=invoice.pk,
            lines=[LineIn("Consulting", Decimal(10), Decimal("90.00"), Decimal(19))],
            reason_code="pricing_error",
            reason="contract rate is 90.00",
            actor=maker,
            now=NOW,
            issue_date=ON,
        )
        assert (memo.status, memo.approval_state) == ("draft", "pending")
        with pytest.raises(DomainError) as refused:
            services.document_issue(document_id=rebill.pk, actor=maker, now=NOW)
        assert refused.value.code == "rebill_not_credited"
        services.credit_memo_approve(document_id=memo.pk, actor=checker, now=NOW, reason="ok")
        services.document_issue(document_id=memo.pk, actor=maker, now=NOW)
        assert (
            services.document_issue(document_id=rebill.pk, actor=maker, now=NOW).number == "INV-2026-000002"
        )

    def test_a_system_made_credit_memo_needs_a_person_to_approve(self, entity, customer):
        set_threshold(entity, "0")
        memo = full(issued_invoice(customer))
        with pytest.raises(DomainError) as refused:
            services.credit_memo_approve(document_id=memo.pk, actor=None, now=NOW, reason="")
        assert refused.value.code == "approver_required"


def test_system_credit_memos_of_one_invoice_never_reverse_more_tax_than_it_holds(customer) -> None:
    # Three lines of 0.03 at 19 %: 0.09 net, 0.0171 tax -> 0.02 once for the invoice. Credited a line
    # at a time (as a billing run credits periods), each 0.03 alone would carry 0.0057 -> 0.01: three
    # cents for an invoice that holds two. Capped at what is left, the third carries what is left: 0.00.
    cent_lines = [LineIn(f"Period {n}", Decimal(1), Decimal("0.03"), Decimal(19)) for n in range(3)]
    invoice = issued_invoice(customer, lines=cent_lines)
    assert (invoice.net_minor, invoice.tax_minor) == (9, 2)
    credits = []
    for n in range(3):
        draft = services.document_create(
            customer=customer,
            document_type="credit_memo",
            issue_date=date(2026, 3, 10),
            lines=[LineIn(f"Period {n}", Decimal(1), Decimal("0.03"), Decimal(19), net=Decimal("0.03"))],
            actor=None,
            now=NOW,
            corrects=invoice,
        )
        credits.append(services.document_issue(document_id=draft.pk, actor=None, now=NOW))
    assert [(c.net_minor, c.tax_minor, c.total_minor) for c in credits] == [
        (-3, -1, -4),
        (-3, -1, -4),
        (-3, 0, -3),
    ]
    invoice.refresh_from_db()
    assert invoice.open_minor == 0
