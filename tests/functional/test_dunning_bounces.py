"""Bounces of dunning e-mails: each e-mail carries a Message-ID kept on its notice; an RFC 3464 delivery
status notification read by `o2c dunning bounces` or posted to POST /api/collections/bounces marks the
notice bounced and records the delivery problem on the customer; a permanent one marks the address
undeliverable, so later notices to it fail unsent until a person clears the mark or the address changes.

The samples in data/bounces are written per RFC 3464 the way Postfix and Exchange Online write them.
C-1000's invoice of 1,234.50 EUR is due 1 February 2026: the first notice goes on 2 February (level 1),
the second on 16 February (level 2)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.billing.models import InvoiceProfile
from o2c.collections import delivery, services
from o2c.collections.models import DeliveryProblem, DunningNotice
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user
from tests.functional.test_import_commands import run_failing
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "bounces"
POSTFIX = DATA / "postfix-user-unknown.eml"  # ap@mueller.example, 5.1.1, failed
EXCHANGE = DATA / "exchange-mailbox-full.eml"  # compta@dupont.example, 5.2.2, failed
DELAYED = DATA / "postfix-delayed.eml"  # ap@mueller.example, 4.4.1, delayed
NOT_A_DSN = DATA / "out-of-office.eml"
POSTFIX_ID = "<177010649712.3071.1048576@o2c-demo.example>"
EXCHANGE_ID = "<177010650011.3071.2097152@o2c-demo.example>"
# Arrival-Date of the Postfix samples: Tue, 3 Feb 2026 09:14:58 +0100
ARRIVED = datetime(2026, 2, 3, 8, 14, 58, tzinfo=UTC)
RFC822 = "message/rfc822"


@pytest.fixture(autouse=True)
def _sender(entity: LegalEntity) -> None:
    InvoiceProfile.objects.create(entity=entity, email="forderungen@o2c-demo.example")


def _invoice(customer: Customer) -> None:
    issued_invoice(
        customer,
        issue_date=date(2026, 1, 2),
        lines=[LineIn("Service", Decimal(1), Decimal("1234.50"), Decimal(0))],
    )


def _run(entity: LegalEntity, as_of: date, capture: Any) -> None:
    with capture(execute=True):
        services.dunning_run(entity=entity, as_of=as_of, dry_run=False, actor=None, now=NOW)


def _sent(entity: LegalEntity, customer: Customer, capture: Any, message_id: str) -> DunningNotice:
    """C-1000's first notice, sent on 2 February; the sample DSNs name it by `message_id`."""
    _invoice(customer)
    _run(entity, date(2026, 2, 2), capture)
    notice = DunningNotice.objects.get(customer=customer)
    assert notice.status == "sent"
    DunningNotice.objects.filter(pk=notice.pk).update(message_id=message_id)
    notice.refresh_from_db()
    return notice


def _bounced(entity: LegalEntity, customer: Customer, capture: Any) -> None:
    """C-1000's first notice sent, then the Postfix DSN of its address read: the address is undeliverable."""
    _sent(entity, customer, capture, POSTFIX_ID)
    call_command("dunning", "bounces", str(POSTFIX))


def _client(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def collector(entity: LegalEntity) -> Client:
    return _client(make_user("carla", "collector", entities=[entity]))


class TestMessageId:
    def test_each_notice_email_carries_a_message_id_in_the_senders_domain_kept_on_the_notice(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _invoice(customer)

        _run(entity, date(2026, 2, 2), django_capture_on_commit_callbacks)

        [mail] = smtp_settings.received
        notice = DunningNotice.objects.get()
        assert notice.message_id == mail.message["Message-ID"]
        assert notice.message_id.startswith("<")
        assert notice.message_id.endswith("@o2c-demo.example>")


class TestBouncesCommand:
    def test_a_postfix_bounce_marks_the_notice_bounced_and_records_the_problem_on_the_customer(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        notice = _sent(entity, customer, django_capture_on_commit_callbacks, POSTFIX_ID)
        capsys.readouterr()

        call_command("dunning", "bounces", str(POSTFIX))

        captured = capsys.readouterr()
        assert captured.out == (
            "1 bounce read, 1 notice bounced, 1 delivery problem recorded (1 permanent), "
            "0 already recorded, 0 matching no notice\n"
        )
        assert captured.err == ""
        notice.refresh_from_db()
        assert notice.status == "bounced"
        assert notice.delivery_error == (
            "bounced: ap@mueller.example 5.1.1 550 5.1.1 <ap@mueller.example>: Recipient address "
            "rejected: User unknown in virtual mailbox table"
        )
        problem = DeliveryProblem.objects.get()
        assert (
            problem.customer_id,
            problem.notice_id,
            problem.address,
            problem.action,
            problem.status_code,
            problem.is_permanent,
            problem.bounced_at,
            problem.cleared_at,
        ) == (customer.pk, notice.pk, "ap@mueller.example", "failed", "5.1.1", True, ARRIVED, None)
        assert problem.diagnostic == (
            "550 5.1.1 <ap@mueller.example>: Recipient address rejected: "
            "User unknown in virtual mailbox table"
        )
        event = AuditEvent.objects.get(action="collections.notice.bounced")
        assert (event.object_type, event.object_id, event.object_label) == ("customer", customer.pk, "C-1000")
        assert event.changes["status"] == ["sent", "bounced"]
        assert event.changes["status_code"] == [None, "5.1.1"]

    def test_the_same_bounce_read_twice_records_nothing_twice(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        _bounced(entity, customer, django_capture_on_commit_callbacks)
        capsys.readouterr()

        call_command("dunning", "bounces", str(POSTFIX), "--format", "json")

        assert json.loads(capsys.readouterr().out) == {
            "dsns": 1,
            "notices_bounced": 0,
            "problems": 0,
            "permanent": 0,
            "already_recorded": 1,
            "unmatched": [],
        }
        assert DeliveryProblem.objects.count() == 1
        assert AuditEvent.objects.filter(action="collections.notice.bounced").count() == 1

    def test_a_delayed_dsn_is_a_transient_problem_and_the_notice_stays_sent(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        notice = _sent(entity, customer, django_capture_on_commit_callbacks, POSTFIX_ID)

        call_command("dunning", "bounces", str(DELAYED))

        notice.refresh_from_db()
        assert (notice.status, notice.delivery_error) == ("sent", "")
        problem = DeliveryProblem.objects.get()
        assert (problem.action, problem.status_code, problem.is_permanent) == ("delayed", "4.4.1", False)
        assert problem.diagnostic == "connect to mx.mueller.example[192.0.2.25]:25: Connection timed out"
        assert "1 delivery problem recorded (0 permanent)" in capsys.readouterr().out

    def test_a_folder_and_an_mbox_are_read_and_a_dsn_naming_no_notice_is_reported_and_skipped(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        _sent(entity, customer, django_capture_on_commit_callbacks, POSTFIX_ID)
        folder = tmp_path / "bounces"
        folder.mkdir()
        (folder / "1.eml").write_bytes(POSTFIX.read_bytes())
        (folder / "notes.txt").write_text("not read: only .eml files in a folder")
        mbox = tmp_path / "bounces.mbox"
        mbox.write_bytes(
            b"From MAILER-DAEMON Tue Feb  3 09:15:02 2026\n"
            + DELAYED.read_bytes()
            + b"\nFrom MAILER-DAEMON Tue Feb  3 09:20:11 2026\n"
            + EXCHANGE.read_bytes()
        )
        capsys.readouterr()

        call_command("dunning", "bounces", str(folder), str(mbox))

        captured = capsys.readouterr()
        assert captured.out == (
            "3 bounces read, 1 notice bounced, 2 delivery problems recorded (1 permanent), "
            "0 already recorded, 1 matching no notice\n"
        )
        assert captured.err == (
            f"warning: {mbox} message 2: no dunning notice with Message-ID {EXCHANGE_ID}: skipped\n"
        )
        assert sorted(DeliveryProblem.objects.values_list("status_code", "is_permanent")) == [
            ("4.4.1", False),
            ("5.1.1", True),
        ]

    def test_a_file_that_is_not_a_dsn_is_a_one_line_error_and_nothing_is_recorded(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        notice = _sent(entity, customer, django_capture_on_commit_callbacks, POSTFIX_ID)
        capsys.readouterr()

        line = run_failing(capsys, "dunning", "bounces", str(POSTFIX), str(NOT_A_DSN))

        assert line == (
            f"error: {NOT_A_DSN}: not a delivery status notification: "
            "a text/plain message, not multipart/report"
        )
        notice.refresh_from_db()
        assert notice.status == "sent"
        assert DeliveryProblem.objects.count() == 0
        assert not AuditEvent.objects.filter(action="collections.notice.bounced").exists()

    def test_a_missing_file_is_a_one_line_error(
        self, entity: LegalEntity, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = run_failing(capsys, "dunning", "bounces", "/nonexistent/bounce.eml")

        assert line == "error: /nonexistent/bounce.eml: no such file or folder"


class TestUndeliverable:
    def test_later_notices_to_a_bounced_address_fail_unsent_until_a_person_clears_the_mark(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        collector: Client,
    ) -> None:
        _bounced(entity, customer, django_capture_on_commit_callbacks)
        smtp_settings.received.clear()

        _run(entity, date(2026, 2, 16), django_capture_on_commit_callbacks)

        assert smtp_settings.received == []
        second = DunningNotice.objects.get(as_of=date(2026, 2, 16))
        assert (second.level, second.status, second.sent_at) == (2, "failed", None)
        assert second.delivery_error == "address bounced: ap@mueller.example 5.1.1 on 2026-02-03"
        assert second.message_id == ""

        response = collector.post(
            "/api/collections/delivery-problems/clear",
            data=json.dumps(
                {
                    "customer_id": customer.pk,
                    "address": "AP@mueller.example",
                    "reason": "Mailbox set up again",
                }
            ),
            content_type="application/json",
        )

        assert response.status_code == 200
        assert json.loads(response.content) == {
            "customer_id": customer.pk,
            "address": "ap@mueller.example",
            "cleared": 1,
        }
        problem = DeliveryProblem.objects.get()
        assert (problem.cleared_by.username, problem.clear_reason) == ("carla", "Mailbox set up again")
        event = AuditEvent.objects.get(action="collections.address.cleared")
        assert (event.object_id, event.reason, event.changes) == (
            customer.pk,
            "Mailbox set up again",
            {"undeliverable": ["ap@mueller.example", None]},
        )

        # the failed notice sent again now reaches the address
        DunningNotice.objects.filter(pk=second.pk).update(status="pending")
        delivery.notices_send(notice_ids=[second.pk], now=NOW)

        [mail] = smtp_settings.received
        assert mail.rcpt_tos == ("ap@mueller.example",)

    def test_the_customer_page_shows_the_bounce_and_the_undeliverable_mark(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        client: Client,
    ) -> None:
        _bounced(entity, customer, django_capture_on_commit_callbacks)
        client.force_login(make_user("carla", "collector", entities=[entity]))

        response = client.get(reverse("customer_detail", args=[customer.pk]))

        page = response.content.decode()
        section = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="delivery-problems"') :]).split())
        assert section.startswith(
            'id="delivery-problems"> Dunning e-mails that bounced Date E-mail Status Reason '
            "Feb 3, 2026 ap@mueller.example undeliverable 5.1.1 550 5.1.1 &lt;ap@mueller.example&gt;: "
            "Recipient address rejected: User unknown in virtual mailbox table"
        ), section[:300]

    def test_a_collector_clears_the_mark_on_the_customer_page_with_a_reason(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        client: Client,
        time_machine: Any,
    ) -> None:
        time_machine.move_to(NOW, tick=False)
        _bounced(entity, customer, django_capture_on_commit_callbacks)
        client.force_login(make_user("carla", "collector", entities=[entity]))
        url = reverse("customer_undeliverable_clear", args=[customer.pk])

        refused = client.post(url, {"address": "ap@mueller.example", "reason": ""})
        assert DeliveryProblem.objects.get(customer=customer).cleared_at is None
        cleared = client.post(
            url, {"address": "ap@mueller.example", "reason": "mailbox restored, says Petra"}
        )
        page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()

        assert refused.status_code == cleared.status_code == 302
        problem = DeliveryProblem.objects.get(customer=customer)
        assert (problem.cleared_at, problem.clear_reason) == (NOW, "mailbox restored, says Petra")
        event = AuditEvent.objects.get(action="collections.address.cleared")
        assert (event.reason, event.actor_label) == ("mailbox restored, says Petra", "carla")
        assert "Dunning e-mails go to ap@mueller.example again." in page
        assert "used again since Mar 16, 2026" in page
        assert 'data-clear="ap@mueller.example"' not in page

    def test_an_auditor_sees_no_button_and_may_not_clear(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        client: Client,
    ) -> None:
        _bounced(entity, customer, django_capture_on_commit_callbacks)
        client.force_login(make_user("audrey", "auditor", entities=[entity]))

        page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
        response = client.post(
            reverse("customer_undeliverable_clear", args=[customer.pk]),
            {"address": "ap@mueller.example", "reason": "x"},
        )

        assert 'data-clear="ap@mueller.example"' not in page
        assert response.status_code == 403
        assert DeliveryProblem.objects.get(customer=customer).cleared_at is None

    def test_a_changed_address_is_written_to_and_the_bounced_one_is_left_out(
        self,
        entity: LegalEntity,
        customer: Customer,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        _bounced(entity, customer, django_capture_on_commit_callbacks)
        smtp_settings.received.clear()
        customer_services.customer_update(
            customer_id=customer.pk,
            data=customer_in(email="ap@mueller.example, buchhaltung@mueller.example"),
            actor=None,
            now=NOW,
        )

        _run(entity, date(2026, 2, 16), django_capture_on_commit_callbacks)

        [mail] = smtp_settings.received
        assert mail.rcpt_tos == ("buchhaltung@mueller.example",)
        assert DunningNotice.objects.get(as_of=date(2026, 2, 16)).status == "sent"


class TestBouncesApi:
    def test_an_exchange_bounce_posted_raw_is_recorded_and_the_customer_shows_it(
        self,
        entity: LegalEntity,
        smtp_settings: SmtpServer,
        django_capture_on_commit_callbacks: Any,
        collector: Client,
    ) -> None:
        french = customer_services.customer_create(
            entity=entity,
            data=customer_in("C-FR", language="fr", country="FR", email="compta@dupont.example"),
            actor=None,
            now=NOW,
        )
        notice = _sent(entity, french, django_capture_on_commit_callbacks, EXCHANGE_ID)

        response = collector.post("/api/collections/bounces", data=EXCHANGE.read_bytes(), content_type=RFC822)

        assert response.status_code == 200
        problem = DeliveryProblem.objects.get()
        expected_problem = {
            "id": problem.pk,
            "customer_id": french.pk,
            "customer_number": "C-FR",
            "notice_id": notice.pk,
            "address": "compta@dupont.example",
            "action": "failed",
            "status_code": "5.2.2",
            "diagnostic": "554 5.2.2 mailbox full; "
            "STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
            "permanent": True,
            "undeliverable": True,
            "bounced_at": "2026-02-03T08:20:09Z",
            "cleared_at": None,
            "cleared_by": None,
            "clear_reason": "",
        }
        assert json.loads(response.content) == {
            "message_id": EXCHANGE_ID,
            "matched": True,
            "notice_id": notice.pk,
            "notice_status": "bounced",
            "problems": [expected_problem],
            "already_recorded": 0,
        }
        listed = collector.get(
            f"/api/collections/delivery-problems?customer_id={french.pk}&undeliverable=true"
        )
        assert json.loads(listed.content) == {"items": [expected_problem], "next_cursor": None}

    def test_a_bounce_of_another_entitys_notice_or_of_no_notice_matches_nothing(
        self, entity: LegalEntity, collector: Client
    ) -> None:
        response = collector.post("/api/collections/bounces", data=POSTFIX.read_bytes(), content_type=RFC822)

        assert response.status_code == 200
        assert json.loads(response.content) == {
            "message_id": POSTFIX_ID,
            "matched": False,
            "notice_id": None,
            "notice_status": None,
            "problems": [],
            "already_recorded": 0,
        }
        assert DeliveryProblem.objects.count() == 0

    def test_a_body_that_is_not_a_dsn_is_refused(self, entity: LegalEntity, collector: Client) -> None:
        response = collector.post(
            "/api/collections/bounces", data=NOT_A_DSN.read_bytes(), content_type=RFC822
        )

        assert response.status_code == 422
        problem = json.loads(response.content)
        assert (problem["code"], problem["detail"]) == (
            "not_a_dsn",
            "not a delivery status notification: a text/plain message, not multipart/report",
        )

    def test_auditors_read_problems_but_neither_post_bounces_nor_clear_marks(
        self, entity: LegalEntity, customer: Customer, auditor_user: User
    ) -> None:
        auditor = _client(auditor_user)

        assert auditor.get("/api/collections/delivery-problems").status_code == 200
        assert (
            auditor.post(
                "/api/collections/bounces", data=POSTFIX.read_bytes(), content_type=RFC822
            ).status_code
            == 403
        )
        cleared = auditor.post(
            "/api/collections/delivery-problems/clear",
            data=json.dumps({"customer_id": customer.pk, "address": "ap@mueller.example", "reason": "x"}),
            content_type="application/json",
        )
        assert cleared.status_code == 403

    def test_clearing_an_address_that_is_not_marked_is_refused_and_changes_nothing(
        self, entity: LegalEntity, customer: Customer, collector: Client
    ) -> None:
        response = collector.post(
            "/api/collections/delivery-problems/clear",
            data=json.dumps({"customer_id": customer.pk, "address": "ap@mueller.example", "reason": "x"}),
            content_type="application/json",
        )

        assert response.status_code == 422
        assert json.loads(response.content)["code"] == "not_undeliverable"
        assert not AuditEvent.objects.filter(action="collections.address.cleared").exists()


def test_end_to_end_a_notice_sent_through_smtp_then_its_bounce_posted_marks_it_bounced(
    entity: LegalEntity,
    customer: Customer,
    smtp_settings: SmtpServer,
    django_capture_on_commit_callbacks: Any,
    collector: Client,
) -> None:
    _invoice(customer)
    _run(entity, date(2026, 2, 2), django_capture_on_commit_callbacks)
    [mail] = smtp_settings.received
    sent_id = str(mail.message["Message-ID"])
    # the mail system answers with a DSN returning the headers of what it received
    dsn = POSTFIX.read_bytes().replace(POSTFIX_ID.encode(), sent_id.encode())

    response = collector.post("/api/collections/bounces", data=dsn, content_type=RFC822)

    assert response.status_code == 200
    notice = DunningNotice.objects.get()
    assert json.loads(response.content)["notice_id"] == notice.pk
    assert (notice.status, notice.message_id) == ("bounced", sent_id)
    assert DeliveryProblem.objects.get().notice_id == notice.pk
