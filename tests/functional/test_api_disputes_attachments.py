"""Files on a case through the API: POST /api/disputes/{id}/attachments (multipart, a file and a
description) by the roles that change cases, within 10 MB and of the allowed types; GET
.../attachments/{attachment_id} downloads it for every role that reads cases."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.disputes import rules, services
from o2c.disputes.models import Case, CaseAttachment
from o2c.ledger.models import LegalEntity
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


@pytest.fixture
def analyst_user(entity: LegalEntity) -> User:
    return make_user("dora", "disputes", entities=[entity])


@pytest.fixture
def analyst(analyst_user: User) -> Client:
    return client_for(analyst_user)


@pytest.fixture
def case(customer, analyst_user) -> Case:
    invoice = issued_invoice(customer)
    return services.case_open(
        document_id=invoice.pk,
        amount=Decimal("238.00"),
        reason_code="damaged_goods",
        actor=analyst_user,
        now=NOW,
    )


def upload(client: Client, case_id: int, name: str, content: bytes, content_type: str, **form: str) -> Any:
    return client.post(
        f"/api/disputes/{case_id}/attachments",
        data={"file": SimpleUploadedFile(name, content, content_type=content_type), **form},
    )


class TestUpload:
    def test_an_analyst_uploads_a_pdf_with_a_description_and_it_is_audited(self, analyst, case):
        response = upload(
            analyst, case.pk, "pod.pdf", PDF, "application/pdf", description="Signed delivery note"
        )

        assert response.status_code == 201
        added = body(response)
        assert {k: added[k] for k in ("file_name", "description", "content_type", "size", "sha256")} == {
            "file_name": "pod.pdf",
            "description": "Signed delivery note",
            "content_type": "application/pdf",
            "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(),
        }
        detail = body(analyst.get(f"/api/disputes/{case.pk}"))
        assert [(a["id"], a["description"]) for a in detail["attachments"]] == [
            (added["id"], "Signed delivery note")
        ]
        event = AuditEvent.objects.get(action="disputes.case.attachment_added")
        assert (event.object_id, event.actor.username, event.reason) == (
            case.pk,
            "dora",
            "Signed delivery note",
        )

    @pytest.mark.parametrize(
        ("name", "content_type", "kept_as"),
        [
            ("photo.JPG", "image/jpeg", "image/jpeg"),
            ("scan.png", "image/png", "image/png"),
            ("claim.eml", "application/octet-stream", "message/rfc822"),
            ("lines.csv", "application/vnd.ms-excel", "application/vnd.ms-excel"),
            ("lines.csv", "text/csv; charset=utf-8", "text/csv"),
            (
                "proof.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("prices.xlsx", "", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ],
    )
    def test_images_e_mails_csv_and_office_documents_are_taken(
        self, analyst, case, name, content_type, kept_as
    ):
        content = {"image/jpeg": b"\xff\xd8\xff\xe0JFIF", "image/png": b"\x89PNG\r\n\x1a\n...."}.get(
            kept_as, b"From: ap@mueller.example\r\n\r\nsee attached\r\n"
        )

        response = upload(analyst, case.pk, name, content, content_type)

        assert (response.status_code, body(response)["content_type"]) == (201, kept_as)

    @pytest.mark.parametrize(
        ("name", "content", "content_type", "code"),
        [
            ("setup.exe", b"MZ\x90\x00", "application/x-msdownload", "file_type_not_allowed"),
            ("page.html", b"<html></html>", "text/html", "file_type_not_allowed"),
            ("invoice.pdf.exe", PDF, "application/pdf", "file_type_not_allowed"),
            ("noextension", PDF, "application/pdf", "file_type_not_allowed"),
            ("fake.pdf", b"MZ\x90\x00 not a pdf", "application/pdf", "file_content_mismatch"),
            ("empty.pdf", b"", "application/pdf", "empty_file"),
        ],
    )
    def test_other_types_a_wrong_name_a_fake_pdf_and_an_empty_file_are_refused(
        self, analyst, case, name, content, content_type, code
    ):
        response = upload(analyst, case.pk, name, content, content_type)

        assert (response.status_code, body(response)["code"]) == (422, code)
        assert not CaseAttachment.objects.exists()
        assert not AuditEvent.objects.filter(action="disputes.case.attachment_added").exists()

    def test_a_file_over_10_mb_is_refused(self, analyst, case):
        content = PDF + b"0" * (rules.MAX_ATTACHMENT_BYTES - len(PDF) + 1)

        response = upload(analyst, case.pk, "big.pdf", content, "application/pdf")

        assert (response.status_code, body(response)["code"]) == (422, "file_too_large")
        assert not CaseAttachment.objects.exists()

    def test_a_file_of_exactly_10_mb_is_taken(self, analyst, case):
        content = PDF + b"0" * (rules.MAX_ATTACHMENT_BYTES - len(PDF))

        response = upload(analyst, case.pk, "big.pdf", content, "application/pdf")

        assert (response.status_code, body(response)["size"]) == (201, 10 * 1024 * 1024)

    def test_an_ended_case_still_takes_files(self, analyst, analyst_user, case):
        services.case_reject(case_id=case.pk, resolution="delivered intact", actor=analyst_user, now=NOW)

        assert upload(analyst, case.pk, "pod.pdf", PDF, "application/pdf").status_code == 201


class TestDownloadAndRoles:
    def test_the_file_downloads_as_uploaded_for_readers_who_may_not_upload(self, entity, analyst, case):
        added = body(upload(analyst, case.pk, "Lieferschein März.pdf", PDF, "application/pdf"))
        auditor = client_for(make_user("aude", "auditor", entities=[entity]))

        response = auditor.get(f"/api/disputes/{case.pk}/attachments/{added['id']}")

        assert response.status_code == 200
        assert response.content == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            "attachment; filename*=utf-8''Lieferschein%20M%C3%A4rz.pdf"
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        refused = upload(auditor, case.pk, "more.pdf", PDF, "application/pdf")
        assert (refused.status_code, body(refused)["code"]) == (403, "forbidden")
        assert CaseAttachment.objects.count() == 1

    def test_another_entitys_case_and_another_cases_file_are_not_found(
        self, other_entity, analyst, analyst_user, case, now
    ):
        added = body(upload(analyst, case.pk, "pod.pdf", PDF, "application/pdf"))
        other_case = services.case_open(
            document_id=case.document_id, amount=Decimal("10.00"), reason_code="tax", actor=None, now=now
        )
        foreign_customer = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1", country="FR", language="fr"), actor=None, now=now
        )
        foreign_case = services.case_open(
            document_id=issued_invoice(foreign_customer).pk,
            amount=Decimal("10.00"),
            reason_code="tax",
            actor=None,
            now=now,
        )

        assert analyst.get(f"/api/disputes/{other_case.pk}/attachments/{added['id']}").status_code == 404
        assert upload(analyst, foreign_case.pk, "pod.pdf", PDF, "application/pdf").status_code == 404
        assert CaseAttachment.objects.count() == 1
