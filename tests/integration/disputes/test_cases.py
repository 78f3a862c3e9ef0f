"""Dispute cases through their services: opening (routing, SLA, disputed flag), working (states, owner,
notes, files), and the four ways a case ends, with the flag cleared by the last open case and the ledger
tying after each. The invoice is 10 x 100.00 at 19 %: 1,000.00 net, 190.00 tax, 1,190.00 total."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.core import checks
from o2c.customers.models import Customer
from o2c.disputes import rules, services
from o2c.disputes.errors import UnableToChangeCase, UnableToOpenCase, UnableToResolveCase
from o2c.disputes.models import Case, CaseNote
from o2c.ledger.models import JournalLine, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, Document
from tests.conftest import NOW, issued_credit_memo, issued_invoice, make_user

pytestmark = pytest.mark.django_db


def verify() -> dict[str, list[str]]:
    return {check.name: problems for check in checks.all_checks() if (problems := check.run())}


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)


@pytest.fixture
def analyst(entity: LegalEntity) -> User:
    return make_user("dora", "disputes", entities=[entity])


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


def open_case(invoice: Document, actor: User | None, amount: str = "238.00", **kw: Any) -> Case:
    return services.case_open(
        document_id=invoice.pk,
        amount=Decimal(amount),
        reason_code=kw.pop("reason_code", "pricing"),
        actor=actor,
        now=NOW,
        **kw,
    )


def disputed(invoice: Document) -> bool:
    invoice.refresh_from_db()
    return invoice.is_disputed


def actions(case: Case) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="dispute_case", object_id=case.pk)
        .order_by("pk")
        .values_list("action", flat=True)
    )


class TestCaseOpen:
    def test_opening_marks_the_invoice_disputed_routes_the_case_and_sets_its_sla(self, invoice, analyst):
        case = open_case(invoice, analyst, customer_reason_code="PR-7", note="Price list of 2025 applies")

        assert (case.kind, case.state, case.amount_minor, case.currency) == ("dispute", "open", 23800, "EUR")
        assert (case.reason_code, case.customer_reason_code, case.team) == ("pricing", "PR-7", "sales")
        # 10 business days after Monday 16 March 2026
        assert (case.opened_on, case.due_date) == (date(2026, 3, 16), date(2026, 3, 30))
        assert (case.customer_id, case.entity_id) == (invoice.customer_id, invoice.entity_id)
        assert disputed(invoice) is True
        assert actions(case) == ["disputes.case.opened"]
        assert (
            AuditEvent.objects.filter(
                action="receivables.document.dispute_flag", object_id=invoice.pk
            ).count()
            == 1
        )
        assert list(CaseNote.objects.filter(case=case).values_list("text", "author")) == [
            ("Price list of 2025 applies", analyst.pk)
        ]
        assert verify() == {}

    def test_the_entitys_policy_for_the_reason_gives_the_team_and_the_sla(self, entity, invoice, analyst):
        services.reason_policy_set(
            entity_id=entity.pk, reason_code="pricing", team="billing", sla_days=3, actor=analyst, now=NOW
        )

        case = open_case(invoice, analyst)

        assert (case.team, case.due_date) == ("billing", date(2026, 3, 19))

    def test_a_sla_counts_business_days_skipping_weekends_and_public_holidays(self):
        assert rules.add_business_days(date(2026, 3, 20), 1, "DE") == date(2026, 3, 23)  # Friday -> Monday
        assert rules.add_business_days(date(2026, 3, 21), 5, "DE") == date(2026, 3, 27)  # from a Saturday
        # Good Friday (3 April) and Easter Monday (6 April) are German public holidays
        assert rules.add_business_days(date(2026, 4, 1), 2, "DE") == date(2026, 4, 7)
        # 1 May, a Friday, is a holiday in France; a country the calendar does not know has weekends only
        assert rules.add_business_days(date(2026, 4, 30), 1, "FR") == date(2026, 5, 4)
        assert rules.add_business_days(date(2026, 4, 30), 1, "XX") == date(2026, 5, 1)

    def test_more_than_is_open_is_refused_and_nothing_changes(self, invoice, analyst):
        with pytest.raises(UnableToOpenCase) as refused:
            open_case(invoice, analyst, amount="1190.01")

        assert refused.value.code == "exceeds_open_amount"
        assert (Case.objects.count(), disputed(invoice)) == (0, False)
        assert not AuditEvent.objects.filter(action__startswith="disputes.").exists()
        assert not AuditEvent.objects.filter(action="receivables.document.dispute_flag").exists()

    def test_disputes_on_one_invoice_together_stay_within_its_open_amount(self, invoice, analyst):
        open_case(invoice, analyst, amount="1000.00")

        with pytest.raises(UnableToOpenCase) as refused:
            open_case(invoice, analyst, amount="190.01", reason_code="tax")

        assert refused.value.code == "exceeds_open_amount"
        second = open_case(invoice, analyst, amount="190.00", reason_code="tax")
        assert (second.amount_minor, second.team, Case.objects.count()) == (19000, "billing", 2)

    @pytest.mark.parametrize(
        ("amount", "reason_code", "code"),
        [
            ("0.00", "pricing", "bad_amount"),
            ("10.001", "pricing", "too_many_decimals"),
            ("10.00", "too_expensive", "bad_reason_code"),
        ],
    )
    def test_bad_values_are_refused(self, invoice, analyst, amount, reason_code, code):
        with pytest.raises(UnableToOpenCase) as refused:
            open_case(invoice, analyst, amount=amount, reason_code=reason_code)

        assert refused.value.code == code
        assert Case.objects.count() == 0

    def test_a_credit_memo_cannot_be_disputed(self, invoice, analyst):
        credit_memo = issued_credit_memo(invoice, amount=Decimal("100.00"))

        with pytest.raises(UnableToOpenCase) as refused:
            open_case(credit_memo, analyst, amount="10.00")

        assert refused.value.code == "not_an_open_invoice"
        assert disputed(credit_memo) is False

    def test_a_case_may_name_a_line_of_its_invoice_only(self, invoice, customer, analyst):
        other = issued_invoice(customer)
        line = invoice.lines.get()
        case = open_case(invoice, analyst, document_line_id=line.pk)
        assert case.document_line_id == line.pk

        with pytest.raises(UnableToOpenCase) as refused:
            open_case(other, analyst, document_line_id=line.pk)
        assert refused.value.code == "unknown_line"


class TestWorkingACase:
    def test_a_case_moves_between_its_working_states_each_move_audited(self, invoice, analyst):
        case = open_case(invoice, analyst)

        services.case_transition(case_id=case.pk, state="in_review", actor=analyst, now=NOW)
        services.case_transition(
            case_id=case.pk, state="waiting_on_customer", actor=analyst, now=NOW, reason="asked for the POD"
        )

        case.refresh_from_db()
        assert case.state == "waiting_on_customer"
        events = AuditEvent.objects.filter(action="disputes.case.state_changed").order_by("pk")
        assert [(e.changes["state"], e.reason) for e in events] == [
            (["open", "in_review"], ""),
            (["in_review", "waiting_on_customer"], "asked for the POD"),
        ]

    def test_a_resolution_is_not_a_transition(self, invoice, analyst):
        case = open_case(invoice, analyst)

        with pytest.raises(UnableToChangeCase) as refused:
            services.case_transition(case_id=case.pk, state="resolved_credit", actor=analyst, now=NOW)

        assert refused.value.code == "use_resolve"
        case.refresh_from_db()
        assert case.state == "open"

    def test_an_ended_case_changes_no_more(self, invoice, analyst):
        case = open_case(invoice, analyst)
        services.case_reject(case_id=case.pk, resolution="price was agreed", actor=analyst, now=NOW)

        with pytest.raises(UnableToChangeCase) as refused:
            services.case_transition(case_id=case.pk, state="open", actor=analyst, now=NOW)

        assert refused.value.code == "case_closed"

    def test_the_owner_is_someone_granted_the_entity(self, invoice, analyst, other_entity):
        case = open_case(invoice, analyst)
        stranger = make_user("sam", "disputes", entities=[other_entity])

        services.case_assign(case_id=case.pk, owner_id=analyst.pk, team="logistics", actor=analyst, now=NOW)
        with pytest.raises(UnableToChangeCase) as refused:
            services.case_assign(case_id=case.pk, owner_id=stranger.pk, team="sales", actor=analyst, now=NOW)

        assert refused.value.code == "bad_owner"
        case.refresh_from_db()
        assert (case.owner_id, case.team) == (analyst.pk, "logistics")
        event = AuditEvent.objects.get(action="disputes.case.assigned")
        assert event.changes == {"owner": [None, "dora"], "team": ["sales", "logistics"]}

    def test_notes_and_files_make_the_cases_thread(self, invoice, analyst):
        case = open_case(invoice, analyst)

        services.case_note_add(case_id=case.pk, text="Customer sent photos", actor=analyst, now=NOW)
        attachment = services.case_attachment_add(
            case_id=case.pk,
            file_name="photo.jpg",
            content=b"\xff\xd8jpeg",
            content_type="image/jpeg",
            actor=analyst,
            now=NOW,
        )

        assert list(case.notes.values_list("text", flat=True)) == ["Customer sent photos"]
        assert (attachment.size, bytes(attachment.content), attachment.file_name) == (
            6,
            b"\xff\xd8jpeg",
            "photo.jpg",
        )
        assert actions(case) == [
            "disputes.case.opened",
            "disputes.case.note_added",
            "disputes.case.attachment_added",
        ]
        with pytest.raises(UnableToChangeCase) as refused:
            services.case_note_add(case_id=case.pk, text="  ", actor=analyst, now=NOW)
        assert refused.value.code == "empty_note"


class TestResolveByCreditMemo:
    def test_a_credit_memo_for_the_cases_amount_settles_it_and_clears_the_flag(self, invoice, analyst):
        case = open_case(invoice, analyst)  # 238.00 gross = 200.00 net + 38.00 tax

        case = services.case_resolve_credit(
            case_id=case.pk, root_cause="pricing", resolution="contract price applies", actor=analyst, now=NOW
        )

        credit_memo = case.credit_memo
        assert credit_memo is not None
        assert (credit_memo.status, credit_memo.number, credit_memo.total_minor, credit_memo.net_minor) == (
            "issued",
            "CM-2026-000001",
            -23800,
            -20000,
        )
        assert (credit_memo.reason_code, credit_memo.corrects_id) == ("pricing_error", invoice.pk)
        assert (case.state, case.root_cause, case.resolved_on, case.resolved_by_id) == (
            "resolved_credit",
            "pricing",
            date(2026, 3, 16),
            analyst.pk,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (95200, False)
        assert actions(case)[-1] == "disputes.case.resolved"
        assert verify() == {}

    def test_the_flag_stays_while_another_case_on_the_invoice_is_open(self, invoice, analyst):
        first = open_case(invoice, analyst)
        second = open_case(invoice, analyst, amount="100.00", reason_code="quantity")

        services.case_resolve_credit(
            case_id=first.pk, root_cause="", resolution="agreed", actor=analyst, now=NOW
        )
        assert disputed(invoice) is True

        services.case_reject(case_id=second.pk, resolution="delivered in full", actor=analyst, now=NOW)
        assert disputed(invoice) is False

    def test_a_credit_memo_above_the_approval_threshold_keeps_the_case_waiting_until_it_is_issued(
        self, entity, invoice, analyst, manager, django_capture_on_commit_callbacks
    ):
        receivable_services.approval_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("100.00"),
            actor=manager,
            now=NOW,
            reason="t",
        )
        case = open_case(invoice, analyst)

        case = services.case_resolve_credit(
            case_id=case.pk, root_cause="pricing", resolution="agreed", actor=analyst, now=NOW
        )

        assert case.credit_memo is not None
        assert (case.state, case.pending, case.credit_memo.status, case.credit_memo.approval_state) == (
            "open",
            "resolved_credit",
            "draft",
            "pending",
        )
        assert disputed(invoice) is True
        with pytest.raises(UnableToChangeCase) as refused:
            services.case_transition(case_id=case.pk, state="in_review", actor=analyst, now=NOW)
        assert refused.value.code == "awaiting_approval"

        with django_capture_on_commit_callbacks(execute=True):
            receivable_services.credit_memo_approve(
                document_id=case.credit_memo.pk, actor=manager, now=NOW, reason=""
            )
            receivable_services.document_issue(document_id=case.credit_memo.pk, actor=manager, now=NOW)

        case.refresh_from_db()
        assert (case.state, case.pending, case.resolved_by_id, case.approved_by_id) == (
            "resolved_credit",
            "",
            analyst.pk,
            manager.pk,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (95200, False)
        assert verify() == {}

    def test_a_rejected_credit_memo_frees_the_case_for_another_resolution(
        self, entity, invoice, analyst, manager
    ):
        receivable_services.approval_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("100.00"),
            actor=manager,
            now=NOW,
            reason="t",
        )
        case = open_case(invoice, analyst)
        case = services.case_resolve_credit(
            case_id=case.pk, root_cause="", resolution="agreed", actor=analyst, now=NOW
        )
        assert case.credit_memo is not None
        receivable_services.credit_memo_reject(
            document_id=case.credit_memo.pk, actor=manager, now=NOW, reason="price was right"
        )

        case = services.case_reject(case_id=case.pk, resolution="price was right", actor=analyst, now=NOW)

        assert (case.state, case.pending, case.credit_memo_id) == ("rejected_invalid", "", None)
        assert disputed(invoice) is False


class TestResolveByCreditAndRebill:
    def test_the_invoice_is_credited_in_full_and_a_replacement_drafted(self, invoice, analyst):
        case = open_case(invoice, analyst, amount="1190.00", reason_code="quantity")

        case = services.case_resolve_rebill(
            case_id=case.pk,
            lines=[LineIn("Consulting", Decimal("8"), Decimal("100.00"), Decimal("19"))],
            root_cause="quantity",
            resolution="8 days were worked, not 10",
            actor=analyst,
            now=NOW,
        )

        assert case.credit_memo is not None and case.rebill is not None
        assert (case.state, case.credit_memo.total_minor, case.rebill.status, case.rebill.total_minor) == (
            "resolved_rebill",
            -119000,
            "draft",
            95200,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement, invoice.is_disputed) == (0, "credited", False)
        assert verify() == {}


class TestReject:
    def test_a_rejected_claim_is_owed_again_and_back_with_collections(self, invoice, analyst):
        case = open_case(invoice, analyst)

        case = services.case_reject(
            case_id=case.pk, resolution="the agreed price list applies", actor=analyst, now=NOW
        )

        assert (case.state, case.root_cause, case.resolution, case.resolved_on) == (
            "rejected_invalid",
            "pricing",
            "the agreed price list applies",
            date(2026, 3, 16),
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (119000, False)
        assert not Allocation.objects.filter(document=invoice).exists()

    def test_a_resolution_needs_a_reason(self, invoice, analyst):
        case = open_case(invoice, analyst)

        with pytest.raises(UnableToResolveCase) as refused:
            services.case_reject(case_id=case.pk, resolution=" ", actor=analyst, now=NOW)

        assert refused.value.code == "reason_required"
        assert disputed(invoice) is True


class TestWriteOff:
    def test_a_write_off_within_the_threshold_posts_at_once(self, entity, invoice, analyst, manager):
        services.write_off_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("100.00"),
            actor=manager,
            now=NOW,
            reason="t",
        )
        case = open_case(invoice, analyst, amount="100.00", reason_code="damaged_goods")

        case = services.case_write_off(
            case_id=case.pk, root_cause="", resolution="not worth pursuing", actor=analyst, now=NOW
        )

        assert (case.state, case.root_cause, case.approved_by_id, case.resolved_by_id) == (
            "written_off",
            "damaged_goods",
            None,
            analyst.pk,
        )
        assert case.write_off is not None
        assert (case.write_off.kind, case.write_off.amount_minor, case.write_off.posting_date) == (
            "write_off",
            10000,
            date(2026, 3, 16),
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (109000, False)
        assert verify() == {}

    def test_a_write_off_above_the_threshold_waits_for_an_ar_manager_then_posts(
        self, entity, invoice, analyst, manager
    ):
        services.write_off_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("100.00"),
            actor=manager,
            now=NOW,
            reason="t",
        )
        case = open_case(invoice, analyst, amount="100.01", reason_code="damaged_goods")

        case = services.case_write_off(
            case_id=case.pk, root_cause="damaged_goods", resolution="carrier damage", actor=analyst, now=NOW
        )

        assert (case.state, case.pending, case.requested_by_id, case.write_off_id) == (
            "open",
            "written_off",
            analyst.pk,
            None,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (119000, True)
        assert not Allocation.objects.filter(document=invoice).exists()

        other_analyst = make_user("dan", "disputes", entities=[entity])
        for who, code in ((analyst, "approver_required"), (other_analyst, "approver_required")):
            with pytest.raises(UnableToResolveCase) as refused:
                services.case_write_off_approve(case_id=case.pk, actor=who, now=NOW)
            assert refused.value.code == code
        assert not Allocation.objects.filter(document=invoice).exists()

        case = services.case_write_off_approve(case_id=case.pk, actor=manager, now=NOW, reason="ok")

        assert (case.state, case.pending, case.resolved_by_id, case.approved_by_id) == (
            "written_off",
            "",
            analyst.pk,
            manager.pk,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (108999, False)
        lines = JournalLine.objects.filter(
            entry__source_type="allocation", entry__source_id=case.write_off_id
        ).select_related("account")
        # a German seller: the VAT inside 100.01 (15.97 at 19 %) reduces the output VAT, 84.04 is expense
        assert sorted((line.account.type, line.debit_minor, line.credit_minor) for line in lines) == [
            ("receivable", 0, 10001),
            ("tax", 1597, 0),
            ("write_off", 8404, 0),
        ]
        assert actions(case)[1:] == [
            "disputes.case.approval_requested",
            "disputes.case.write_off_approved",
            "disputes.case.resolved",
        ]
        assert verify() == {}

    def test_who_asked_for_a_write_off_cannot_approve_it(self, entity, invoice, manager):
        services.write_off_policy_set(
            entity_id=entity.pk, currency="EUR", threshold=Decimal("0"), actor=manager, now=NOW, reason="t"
        )
        case = open_case(invoice, manager, amount="50.00")
        services.case_write_off(case_id=case.pk, root_cause="", resolution="small", actor=manager, now=NOW)

        with pytest.raises(UnableToResolveCase) as refused:
            services.case_write_off_approve(case_id=case.pk, actor=manager, now=NOW)

        assert refused.value.code == "same_person"
        assert not Allocation.objects.filter(document=invoice).exists()

    def test_a_rejected_write_off_leaves_the_case_to_work_on(self, entity, invoice, analyst, manager):
        services.write_off_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("10.00"),
            actor=manager,
            now=NOW,
            reason="t",
        )
        case = open_case(invoice, analyst, amount="50.00")
        services.case_write_off(case_id=case.pk, root_cause="", resolution="small", actor=analyst, now=NOW)

        case = services.case_write_off_reject(case_id=case.pk, actor=manager, now=NOW, reason="collect it")

        assert (case.state, case.pending) == ("open", "")
        assert disputed(invoice) is True
        assert not Allocation.objects.filter(document=invoice).exists()

    def test_without_a_policy_no_approval_is_needed(self, invoice, analyst):
        case = open_case(invoice, analyst, amount="1190.00")

        case = services.case_write_off(
            case_id=case.pk, root_cause="other", resolution="bankrupt", actor=analyst, now=NOW
        )

        invoice.refresh_from_db()
        assert (case.state, invoice.open_minor, invoice.settlement) == ("written_off", 0, "written_off")
        assert verify() == {}


def test_the_roles_that_approve_write_offs_are_the_roles_that_approve_credits():
    from o2c.workspace import roles

    assert rules.APPROVE_WRITE_OFFS == roles.APPROVE_CREDITS
