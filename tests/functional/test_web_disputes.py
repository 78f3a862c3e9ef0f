"""The dispute analyst's pages: the case list with its filters, a dispute opened from an invoice, a case
worked (notes, moves, owner and team) and resolved (credit memo, credit-and-rebill, rejection, write-off
with its approval), with roles, legal-entity scope and the reader's language. The invoice is 10 x
100.00 at 19 %: 1,190.00 EUR."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.disputes import services
from o2c.disputes.models import Case, CaseNote
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, Document
from o2c.workspace import dispute_views
from o2c.workspace.models import UserPreference
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)


@pytest.fixture
def analyst_user(entity: LegalEntity) -> User:
    return make_user("dora", "disputes", entities=[entity])


@pytest.fixture
def analyst(client: Client, analyst_user: User) -> Client:
    client.force_login(analyst_user)
    return client


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_case(invoice: Document, actor: User | None = None, amount: str = "238.00", **kw: Any) -> Case:
    return services.case_open(
        document_id=invoice.pk,
        amount=Decimal(amount),
        reason_code=kw.pop("reason_code", "pricing"),
        actor=actor,
        now=NOW,
        **kw,
    )


def text(response: Any) -> str:
    return response.content.decode()


def by_id(html: str, element_id: str) -> str:
    """The text of the element with this id (tags removed, spaces collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", match[2])).strip()  # keeps no-break spaces


def detail(case: Case) -> str:
    return reverse("dispute_case_detail", args=[case.pk])


def case_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-case="(\d+)">', html)


def disputed(invoice: Document) -> bool:
    invoice.refresh_from_db()
    return invoice.is_disputed


class TestCaseList:
    def test_open_cases_are_listed_with_amount_sla_age_and_state_in_the_readers_format(
        self, analyst, analyst_user, invoice, customer
    ):
        case = open_case(invoice, analyst_user, customer_reason_code="PR-7", owner_id=analyst_user.pk)
        other = open_case(issued_invoice(customer), analyst_user, amount="10.00", reason_code="tax")
        services.case_reject(case_id=other.pk, resolution="price list applies", actor=analyst_user, now=NOW)
        UserPreference.objects.update_or_create(user=analyst_user, defaults={"language": "de"})

        response = analyst.get(reverse("dispute_case_list"))

        assert response.status_code == 200
        html = text(response)
        assert case_rows(html) == [str(case.pk)]  # the rejected case is not open
        row = re.search(rf'<tr data-case="{case.pk}">(.*?)</tr>', html, re.S)
        assert row is not None
        cells = [
            re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in row[1].split("</td>")
        ]
        assert cells[:9] == [
            f"#{case.pk} Reklamation",
            "C-1000 Müller Maschinenbau GmbH",
            invoice.number,
            "Preis PR-7",
            "238,00\xa0€",
            "dora Vertrieb",
            "30.03.2026",
            "0",
            "Offen",
        ]

    def test_a_case_past_its_sla_is_highlighted_and_its_age_counts_calendar_days(
        self, analyst, analyst_user, invoice, time_machine
    ):
        case = open_case(invoice, analyst_user)
        time_machine.move_to(datetime(2026, 4, 2, 9, 0, tzinfo=UTC), tick=False)
        analyst.force_login(analyst_user)  # the session of 16 March has expired

        html = text(analyst.get(reverse("dispute_case_list")))

        row = re.search(rf'<tr data-case="{case.pk}">(.*?)</tr>', html, re.S)
        assert row is not None
        assert (
            '<td class="o2c-nowrap o2c-overdue" title="Past its SLA">Mar 30, 2026 <small>(overdue)' in row[1]
        )
        assert '<td class="o2c-num">17</td>' in row[1]

    def test_filters_by_state_reason_team_owner_and_customer(self, analyst, analyst_user, entity, invoice):
        pricing = open_case(invoice, analyst_user, owner_id=analyst_user.pk)
        other_customer = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", name="Dupont SARL"), actor=None, now=NOW
        )
        tax = open_case(issued_invoice(other_customer), analyst_user, amount="19.00", reason_code="tax")
        done = open_case(issued_invoice(other_customer), analyst_user, amount="5.00", reason_code="tax")
        services.case_reject(case_id=done.pk, resolution="invalid", actor=analyst_user, now=NOW)
        url = reverse("dispute_case_list")

        def listed(**query: str) -> list[str]:
            return case_rows(text(analyst.get(url, query)))

        assert listed() == [str(pricing.pk), str(tax.pk)]
        assert listed(state="all") == [str(pricing.pk), str(tax.pk), str(done.pk)]
        assert listed(state="rejected_invalid") == [str(done.pk)]
        assert listed(reason="tax") == [str(tax.pk)]
        assert listed(team="sales") == [str(pricing.pk)]
        assert listed(owner=str(analyst_user.pk)) == [str(pricing.pk)]
        assert listed(customer="C-2000", state="all") == [str(tax.pk), str(done.pk)]
        assert listed(customer="dupont") == [str(tax.pk)]
        assert "No cases found." in text(analyst.get(url, {"reason": "promotion"}))

    def test_the_list_pages_and_htmx_gets_the_results_alone(
        self, analyst, analyst_user, customer, monkeypatch
    ):
        monkeypatch.setattr(dispute_views, "CASES_PER_PAGE", 2)
        cases = [open_case(issued_invoice(customer), analyst_user, amount="1.00") for _ in range(3)]

        first = text(analyst.get(reverse("dispute_case_list")))
        second = analyst.get(reverse("dispute_case_list"), {"page": "2"}, HTTP_HX_REQUEST="true")

        assert case_rows(first) == [str(cases[0].pk), str(cases[1].pk)]
        assert "page=2" in first
        assert case_rows(text(second)) == [str(cases[2].pk)]
        assert "<html" not in text(second)

    def test_the_list_reads_a_page_in_a_fixed_number_of_queries(
        self, analyst, analyst_user, customer, django_assert_max_num_queries
    ):
        for _ in range(5):
            open_case(issued_invoice(customer), analyst_user, amount="1.00")
        with django_assert_max_num_queries(12):
            response = analyst.get(reverse("dispute_case_list"))
        assert len(case_rows(text(response))) == 5


class TestCaseOpen:
    def test_the_invoice_page_offers_a_dispute_to_those_who_change_cases(self, analyst, entity, invoice):
        page = text(analyst.get(reverse("document_detail", args=[invoice.pk])))
        assert reverse("dispute_case_open", args=[invoice.pk]) in page

        collector = login(make_user("colette", "collector", entities=[entity]))
        page = text(collector.get(reverse("document_detail", args=[invoice.pk])))
        assert reverse("dispute_case_open", args=[invoice.pk]) not in page

    def test_the_invoice_page_lists_its_cases_for_those_who_read_them(
        self, analyst, analyst_user, entity, invoice
    ):
        case = open_case(invoice, analyst_user)
        url = reverse("document_detail", args=[invoice.pk])

        cases = by_id(text(analyst.get(url)), "document-cases")

        assert f"#{case.pk} Dispute Pricing €238.00 Sales Mar 30, 2026 Open" in cases
        billing = login(make_user("bianca", "billing", entities=[entity]))
        assert 'id="document-cases"' not in text(billing.get(url))

    def test_the_form_starts_with_the_open_amount_and_opening_goes_to_the_case(
        self, analyst, analyst_user, invoice
    ):
        url = reverse("dispute_case_open", args=[invoice.pk])
        form = text(analyst.get(url))
        assert 'name="amount" value="1190"' in form

        response = analyst.post(
            url,
            {
                "amount": "238.00",
                "reason_code": "quantity",
                "customer_reason_code": "QTY-3",
                "owner": str(analyst_user.pk),
                "note": "Two pallets short",
            },
            follow=True,
        )

        case = Case.objects.get()
        assert response.redirect_chain == [(detail(case), 302)]
        assert (case.amount_minor, case.reason_code, case.team, case.owner_id) == (
            23800,
            "quantity",
            "logistics",
            analyst_user.pk,
        )
        html = text(response)
        assert f"Dispute case {case.pk} opened on {invoice.number}" in html
        assert by_id(html, "case-amount") == "€238.00"
        assert "Two pallets short" in by_id(html, "notes")
        assert disputed(invoice) is True

    def test_more_than_is_open_shows_the_services_refusal_and_opens_nothing(self, analyst, invoice):
        response = analyst.post(
            reverse("dispute_case_open", args=[invoice.pk]), {"amount": "1190.01", "reason_code": "pricing"}
        )

        assert response.status_code == 422
        assert f"{invoice.number}: 1190.01 EUR is more than the 1190.00 EUR open on it" in text(response)
        assert (Case.objects.count(), disputed(invoice)) == (0, False)

    def test_a_german_reader_types_the_amount_in_her_format(self, analyst, analyst_user, invoice):
        UserPreference.objects.update_or_create(user=analyst_user, defaults={"language": "de"})

        analyst.post(
            reverse("dispute_case_open", args=[invoice.pk]), {"amount": "1.000,50", "reason_code": "pricing"}
        )

        assert Case.objects.get().amount_minor == 100050


class TestCaseDetail:
    def test_the_case_shows_its_facts_documents_notes_and_what_may_be_done(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user, note="Customer says the 2025 price list applies")

        html = text(analyst.get(detail(case)))

        assert by_id(html, "case-state") == "Open"
        assert by_id(html, "case-team") == "Sales"
        assert by_id(html, "case-due") == "Mar 30, 2026"
        assert by_id(html, "case-document") == invoice.number
        assert "Customer says the 2025 price list applies" in by_id(html, "notes")
        assert 'id="move-in_review"' in html and 'id="move-waiting_on_customer"' in html
        assert 'id="move-open"' not in html
        assert 'id="resolve-form"' in html and 'id="assign-form"' in html and 'id="rebill-link"' in html
        assert "Dispute case opened" in by_id(html, "audit-history")

    def test_a_french_reader_reads_the_case_in_french_with_her_amounts_and_dates(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user)
        UserPreference.objects.update_or_create(user=analyst_user, defaults={"language": "fr"})

        html = text(analyst.get(detail(case)))

        assert by_id(html, "case-amount") == "238,00\u00a0€"
        assert by_id(html, "case-due") == "30 mars 2026"
        assert "Traiter le dossier" in html and "Résoudre le dossier" in html and "Ajouter une note" in html
        assert ">Litiges</a>" in html  # the menu

    def test_a_collector_reads_the_case_without_its_forms(self, entity, analyst_user, invoice):
        case = open_case(invoice, analyst_user)
        collector = login(make_user("colette", "collector", entities=[entity]))

        html = text(collector.get(detail(case)))

        assert by_id(html, "case-state") == "Open"
        for form in ("note-form", "resolve-form", "assign-form", "case-moves"):
            assert f'id="{form}"' not in html

    def test_a_note_is_added_to_the_thread(self, analyst, analyst_user, invoice):
        case = open_case(invoice, analyst_user)

        response = analyst.post(
            reverse("dispute_case_note_add", args=[case.pk]), {"text": "Called Mr Weber"}, follow=True
        )

        assert "Note added." in text(response)
        assert list(CaseNote.objects.filter(case=case).values_list("text", "author")) == [
            ("Called Mr Weber", analyst_user.pk)
        ]
        assert "Called Mr Weber" in by_id(text(response), "notes")

    def test_htmx_gets_the_thread_alone_with_the_new_note(self, analyst, analyst_user, invoice):
        case = open_case(invoice, analyst_user)

        response = analyst.post(
            reverse("dispute_case_note_add", args=[case.pk]),
            {"text": "Proof of delivery requested"},
            HTTP_HX_REQUEST="true",
        )

        html = text(response)
        assert html.lstrip().startswith('<section id="notes">')
        assert "Proof of delivery requested" in html and "dora" in html

    def test_an_empty_note_is_refused_on_its_field(self, analyst, analyst_user, invoice):
        case = open_case(invoice, analyst_user)

        response = analyst.post(reverse("dispute_case_note_add", args=[case.pk]), {"text": "  "})

        assert response.status_code == 422
        assert "This field is required." in text(response)
        assert not CaseNote.objects.filter(case=case).exists()

    def test_a_case_moves_between_its_working_states(self, analyst, analyst_user, invoice):
        case = open_case(invoice, analyst_user)

        response = analyst.post(
            reverse("dispute_case_transition", args=[case.pk]), {"state": "waiting_on_customer"}, follow=True
        )

        case.refresh_from_db()
        assert case.state == "waiting_on_customer"
        html = text(response)
        assert "The case is now: Waiting on customer." in html
        assert 'id="move-open"' in html and 'id="move-in_review"' in html

    def test_owner_and_team_are_assigned(self, analyst, analyst_user, invoice, manager_user):
        case = open_case(invoice, analyst_user)

        response = analyst.post(
            reverse("dispute_case_assign", args=[case.pk]),
            {"owner": str(manager_user.pk), "team": "billing"},
            follow=True,
        )

        case.refresh_from_db()
        assert (case.owner_id, case.team) == (manager_user.pk, "billing")
        assert "Owner and team saved." in text(response)
        assert by_id(text(response), "case-owner") == "martin"

    def test_a_resolution_by_credit_memo_credits_the_invoice_and_closes_the_case(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user)

        response = analyst.post(
            reverse("dispute_case_resolve", args=[case.pk]),
            {"outcome": "resolved_credit", "resolution": "Price list 2025 applies", "root_cause": ""},
            follow=True,
        )

        case.refresh_from_db()
        assert (case.state, case.root_cause) == ("resolved_credit", "pricing")
        assert case.credit_memo is not None and case.credit_memo.total_minor == -23800
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (119000 - 23800, False)
        html = text(response)
        assert "The case is closed: Resolved by credit memo." in html
        assert by_id(html, "case-credit-memo") == case.credit_memo.number
        assert 'id="resolve-form"' not in html

    def test_a_rejection_as_invalid_needs_a_reason_and_leaves_the_amount_owed(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user)
        url = reverse("dispute_case_resolve", args=[case.pk])

        refused = analyst.post(url, {"outcome": "rejected_invalid", "resolution": ""})
        assert refused.status_code == 422
        case.refresh_from_db()
        assert case.state == "open"

        analyst.post(url, {"outcome": "rejected_invalid", "resolution": "Delivered in full, POD signed"})

        case.refresh_from_db()
        invoice.refresh_from_db()
        assert (case.state, invoice.open_minor, invoice.is_disputed) == ("rejected_invalid", 119000, False)

    def test_a_refused_action_shows_the_services_sentence_and_changes_nothing(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user)
        services.case_reject(case_id=case.pk, resolution="invalid", actor=analyst_user, now=NOW)
        before = AuditEvent.objects.count()

        response = analyst.post(reverse("dispute_case_transition", args=[case.pk]), {"state": "in_review"})

        assert response.status_code == 422
        assert by_id(text(response), "action-error") == f"case {case.pk} is closed (rejected_invalid)"
        case.refresh_from_db()
        assert case.state == "rejected_invalid"
        assert AuditEvent.objects.count() == before

    def test_credit_and_rebill_starts_with_the_invoices_lines_and_drafts_the_replacement(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user, amount="1190.00")
        url = reverse("dispute_case_rebill", args=[case.pk])
        form = text(analyst.get(url))
        assert 'value="Consulting"' in form

        response = analyst.post(
            url,
            {
                "resolution": "Wrong unit price",
                "root_cause": "pricing",
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "1",
                "lines-0-description": "Consulting",
                "lines-0-quantity": "10",
                "lines-0-unit_price": "90",
                "lines-0-discount_percent": "0",
                "lines-0-tax_rate": "19",
                "lines-0-tax_category": "S",
            },
            follow=True,
        )

        case.refresh_from_db()
        assert case.state == "resolved_rebill"
        assert case.rebill is not None and case.rebill.status == Document.Status.DRAFT
        assert case.rebill.total_minor == 107100
        assert "The case is closed: Resolved by credit and rebill." in text(response)

    def test_a_write_off_above_the_threshold_waits_for_a_manager_who_approves_it(
        self, analyst, analyst_user, manager_user, entity, invoice
    ):
        services.write_off_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("100.00"),
            actor=manager_user,
            now=NOW,
            reason="policy",
        )
        case = open_case(invoice, analyst_user)

        asked = analyst.post(
            reverse("dispute_case_resolve", args=[case.pk]),
            {"outcome": "written_off", "resolution": "Not worth pursuing"},
            follow=True,
        )
        html = text(asked)
        assert (
            "The resolution waits for a second person&#x27;s approval: Write-off waiting for approval."
            in html
        )
        assert by_id(html, "case-pending").startswith("Write-off waiting for approval")
        assert 'id="approve-write-off"' not in html  # the analyst is not a checker
        assert not Allocation.objects.filter(kind="write_off").exists()

        manager = login(manager_user)
        page = text(manager.get(detail(case)))
        assert 'id="approve-write-off"' in page
        approved = manager.post(reverse("dispute_write_off_approve", args=[case.pk]), {"reason": "ok"})

        assert approved.status_code == 302
        case.refresh_from_db()
        assert (case.state, case.approved_by_id, case.resolved_by_id) == (
            "written_off",
            manager_user.pk,
            analyst_user.pk,
        )
        assert Allocation.objects.get(kind="write_off").amount_minor == 23800

    def test_a_manager_cannot_decide_her_own_write_off_and_a_rejection_needs_a_reason(
        self, manager_user, entity, invoice
    ):
        services.write_off_policy_set(
            entity_id=entity.pk, currency="EUR", threshold=Decimal(0), actor=None, now=NOW, reason="p"
        )
        case = open_case(invoice, manager_user)
        services.case_write_off(
            case_id=case.pk, root_cause="", resolution="small", actor=manager_user, now=NOW
        )
        manager = login(manager_user)

        own = manager.post(reverse("dispute_write_off_approve", args=[case.pk]))
        assert own.status_code == 422
        assert "the person who asked for a write-off cannot decide it" in by_id(text(own), "action-error")

        second = login(make_user("maria", "ar_manager", entities=[entity]))
        no_reason = second.post(reverse("dispute_write_off_reject", args=[case.pk]), {"reason": ""})
        assert by_id(text(no_reason), "action-error") == "say why the write-off is rejected"
        second.post(reverse("dispute_write_off_reject", args=[case.pk]), {"reason": "Chase it"})
        case.refresh_from_db()
        assert (case.state, case.pending) == ("open", "")


class TestAccess:
    def test_the_menu_shows_disputes_to_those_who_read_cases(self, client, entity):
        url = reverse("dispute_case_list")
        for role, shown in (("disputes", True), ("collector", True), ("auditor", True), ("billing", False)):
            page = text(login(make_user(f"user-{role}", role, entities=[entity])).get(reverse("home")))
            assert (f'href="{url}"' in page) is shown, role

    def test_readers_see_the_pages_and_cannot_change_a_case(self, entity, analyst_user, invoice):
        case = open_case(invoice, analyst_user)
        for role in ("collector", "auditor"):
            reader = login(make_user(f"user-{role}", role, entities=[entity]))
            assert reader.get(reverse("dispute_case_list")).status_code == 200
            assert reader.get(detail(case)).status_code == 200
            posts = [
                (reverse("dispute_case_note_add", args=[case.pk]), {"text": "x"}),
                (reverse("dispute_case_transition", args=[case.pk]), {"state": "in_review"}),
                (reverse("dispute_case_assign", args=[case.pk]), {"team": "billing"}),
                (reverse("dispute_case_resolve", args=[case.pk]), {"outcome": "rejected_invalid"}),
                (reverse("dispute_case_rebill", args=[case.pk]), {}),
                (reverse("dispute_write_off_approve", args=[case.pk]), {}),
                (reverse("dispute_case_open", args=[invoice.pk]), {"amount": "1", "reason_code": "tax"}),
            ]
            for url, data in posts:
                assert reader.post(url, data).status_code == 403, (role, url)
        assert (Case.objects.count(), CaseNote.objects.count()) == (1, 0)

    def test_other_roles_get_403(self, entity, analyst_user, invoice):
        case = open_case(invoice, analyst_user)
        billing = login(make_user("bianca", "billing", entities=[entity]))
        assert billing.get(reverse("dispute_case_list")).status_code == 403
        assert billing.get(detail(case)).status_code == 403
        assert billing.get(reverse("dispute_case_open", args=[invoice.pk])).status_code == 403
        analyst = login(analyst_user)
        assert analyst.post(reverse("dispute_write_off_approve", args=[case.pk])).status_code == 403

    def test_another_legal_entitys_case_and_invoice_are_404_and_never_listed(self, analyst, other_entity):
        foreign_customer = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("F-777", name="Fromagerie SARL", country="FR", language="fr", vat_id=""),
            actor=None,
            now=NOW,
        )
        foreign_invoice = issued_invoice(
            foreign_customer, lines=[LineIn("Brie", Decimal(3), Decimal("77.70"), Decimal(20))]
        )
        case = open_case(foreign_invoice, None, amount="10.00")

        assert case_rows(text(analyst.get(reverse("dispute_case_list"), {"state": "all"}))) == []
        assert analyst.get(detail(case)).status_code == 404
        assert analyst.get(reverse("dispute_case_open", args=[foreign_invoice.pk])).status_code == 404
        assert (
            analyst.post(reverse("dispute_case_note_add", args=[case.pk]), {"text": "x"}).status_code == 404
        )
        assert (
            analyst.post(
                reverse("dispute_case_resolve", args=[case.pk]),
                {"outcome": "rejected_invalid", "resolution": "x"},
            ).status_code
            == 404
        )
        case.refresh_from_db()
        assert (case.state, case.notes.count()) == ("open", 0)


class TestFiles:
    PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"

    def upload(self, client: Client, case: Case, name: str, content: bytes, content_type: str) -> Any:
        return client.post(
            reverse("dispute_case_attachment_add", args=[case.pk]),
            {
                "file": SimpleUploadedFile(name, content, content_type=content_type),
                "description": "Signed delivery note",
            },
            follow=True,
        )

    def test_an_analyst_adds_a_file_that_is_listed_with_its_description_and_downloads(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user)

        response = self.upload(analyst, case, "pod.pdf", self.PDF, "application/pdf")

        html = text(response)
        assert "File pod.pdf added." in html
        assert by_id(html, "case-files").startswith("pod.pdf · Signed delivery note")
        attachment = case.attachments.get()
        assert attachment.uploaded_by == analyst_user
        download = analyst.get(reverse("dispute_case_attachment_get", args=[case.pk, attachment.pk]))
        assert (download.status_code, download["Content-Type"], download.content) == (
            200,
            "application/pdf",
            self.PDF,
        )
        assert download["Content-Disposition"] == 'attachment; filename="pod.pdf"'
        assert AuditEvent.objects.filter(
            object_type="dispute_case", object_id=case.pk, action="disputes.case.attachment_added"
        ).exists()

    def test_a_file_of_a_type_a_case_does_not_take_is_refused_on_the_field(
        self, analyst, analyst_user, invoice
    ):
        case = open_case(invoice, analyst_user)

        response = self.upload(analyst, case, "run.exe", b"MZ\x90\x00", "application/x-msdownload")

        assert response.status_code == 422
        assert "run.exe (application/x-msdownload) is not a file a case takes" in text(response)
        assert not case.attachments.exists()

    def test_a_collector_downloads_but_gets_no_form_and_may_not_add(self, entity, analyst_user, invoice):
        case = open_case(invoice, analyst_user)
        services.case_attachment_add(
            case_id=case.pk,
            file_name="photo.jpg",
            content=b"\xff\xd8\xff\xe0JFIF",
            content_type="image/jpeg",
            actor=analyst_user,
            now=NOW,
        )
        collector = login(make_user("colette", "collector", entities=[entity]))

        html = text(collector.get(detail(case)))

        assert 'id="attachment-form"' not in html
        assert by_id(html, "case-files").startswith("photo.jpg")
        file_id = case.attachments.get().pk
        assert (
            collector.get(reverse("dispute_case_attachment_get", args=[case.pk, file_id])).status_code == 200
        )
        refused = self.upload(collector, case, "pod.pdf", self.PDF, "application/pdf")
        assert refused.status_code == 403
        assert case.attachments.count() == 1
        other_case = open_case(invoice, analyst_user, amount="10.00")
        assert (
            collector.get(reverse("dispute_case_attachment_get", args=[other_case.pk, file_id])).status_code
            == 404
        )
