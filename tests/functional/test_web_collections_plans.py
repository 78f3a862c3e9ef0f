"""The manager's dunning plan pages: the plans of an entity, a plan with its segment and steps, a step's
days, channel and tone, and a step's template per language with its live preview (a sample customer
in the language and its locale); AR managers and admins change them, collectors and auditors read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from o2c.audit.models import AuditEvent
from o2c.collections.models import DunningNotice, DunningPlan, DunningStep, DunningTemplate
from o2c.ledger.models import LegalEntity
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db

BROKEN_BODY = "Dear {{ customer_name }},\n{% for item in items %}- {{ item.number }}\n"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


@pytest.fixture
def manager_user(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


@pytest.fixture
def collector_user(entity: LegalEntity) -> User:
    return make_user("carla", "collector", entities=[entity])


@pytest.fixture
def plan(entity: LegalEntity) -> DunningPlan:
    """The standard plan a fresh database gives the entity (levels 0-4 at -5, 1, 15, 30, 45 days)."""
    return DunningPlan.objects.get(entity=entity, is_default=True)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def clean(html: str) -> str:
    return unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def by_id(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return clean(match[2])


def raw_by_id(html: str, element_id: str) -> str:
    """The element's text as it is (a <pre>: lines kept)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, element_id
    return unescape(match[2])


def template_url(plan: DunningPlan, level: int, language: str) -> str:
    return reverse("collections_dunning_template", args=[plan.pk, level, language])


def preview_url(plan: DunningPlan, level: int, language: str) -> str:
    return reverse("collections_dunning_template_preview", args=[plan.pk, level, language])


def audit_count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


class TestPlans:
    def test_the_entitys_plans_are_listed_with_their_segment_and_steps(self, collector_user, plan):
        html = text(login(collector_user).get(reverse("collections_dunning_plans")))

        row = re.search(rf'<tr data-plan="{plan.pk}">(.*?)</tr>', html, re.S)
        assert row is not None
        assert [clean(cell) for cell in row[1].split("</td>")[:-1]] == [
            "MAIN",
            "Standard default",
            "100",
            "every customer",
            "0: -5 · 1: 1 · 2: 15 · 3: 30 · 4: 45",
        ]

    def test_a_plan_shows_its_steps_and_a_collector_gets_no_form(self, collector_user, plan):
        html = text(login(collector_user).get(reverse("collections_dunning_plan", args=[plan.pk])))

        rows = re.findall(r'<tr data-level="(\d)">(.*?)</tr>', html, re.S)
        assert [[clean(cell) for cell in cells.split("</td>")[:-1]] for _level, cells in rows] == [
            ["0", "-5", "E-mail", "Friendly", "en · de · fr · es"],
            ["1", "1", "E-mail", "Friendly", "en · de · fr · es"],
            ["2", "15", "E-mail", "Firm", "en · de · fr · es"],
            ["3", "30", "Call task", "Firm", "en · de · fr · es"],
            ["4", "45", "E-mail", "Final", "en · de · fr · es"],
        ]
        assert 'id="segment-form"' not in html

    def test_a_manager_sets_the_segment_of_a_plan(self, manager_user, entity):
        plan = DunningPlan.objects.create(entity=entity, name="Key accounts", created_at=NOW)  # master data

        response = login(manager_user).post(
            reverse("collections_dunning_plan", args=[plan.pk]),
            {
                "priority": "10",
                "countries": "de, at",
                "payment_terms": "NET60",
                "min_open": "10,000.00",
                "currency": "eur",
            },
        )

        assert response.status_code == 302
        plan.refresh_from_db()
        assert (plan.priority, plan.countries, plan.payment_terms, plan.min_open_minor, plan.currency) == (
            10,
            "AT DE",
            "NET60",
            1000000,
            "EUR",
        )
        event = AuditEvent.objects.get(action="collections.plan.changed")
        assert event.changes == {
            "priority": [100, 10],
            "countries": [None, "AT DE"],
            "payment_terms": [None, "NET60"],
            "min_open": [None, "10000.00 EUR"],
        }

    def test_a_bad_country_code_or_criteria_on_the_default_plan_are_refused(self, manager_user, plan):
        client = login(manager_user)
        url = reverse("collections_dunning_plan", args=[plan.pk])

        bad = client.post(url, {"priority": "100", "countries": "Germany"})
        default = client.post(url, {"priority": "100", "countries": "DE"})

        assert bad.status_code == default.status_code == 422
        assert "not a country code (two letters, ISO 3166): GERMANY" in unescape(text(bad))
        assert (
            "the default plan is for every customer outside the other plans' segments: it has no criteria"
            in unescape(text(default))
        )
        plan.refresh_from_db()
        assert plan.countries == ""
        assert audit_count("collections.plan.changed") == 0


class TestSteps:
    def test_a_manager_changes_a_steps_days_channel_and_tone(self, manager_user, plan):
        response = login(manager_user).post(
            reverse("collections_dunning_step", args=[plan.pk, 2]),
            {"days": "20", "channel": "letter", "tone": "final"},
        )

        assert response.status_code == 302
        step = DunningStep.objects.get(plan=plan, level=2)
        assert (step.days, step.channel, step.tone) == (20, "letter", "final")
        event = AuditEvent.objects.get(action="collections.step.changed")
        assert event.changes == {
            "level": [None, 2],
            "days": [15, 20],
            "channel": ["email", "letter"],
            "tone": ["firm", "final"],
        }

    @pytest.mark.parametrize(
        ("level", "days", "message"),
        [
            (1, "0", "a notice (level 1 or more) comes after the due date: its days are 1 or more"),
            (0, "3", "the reminder (level 0) comes before the due date: its days are 0 or fewer"),
            (2, "30", "a level's days are more than the level below's and fewer than the level above's"),
            (3, "15", "a level's days are more than the level below's and fewer than the level above's"),
        ],
    )
    def test_days_that_do_not_fit_the_level_are_refused(self, manager_user, plan, level, days, message):
        response = login(manager_user).post(
            reverse("collections_dunning_step", args=[plan.pk, level]),
            {"days": days, "channel": "email", "tone": "firm"},
        )

        assert response.status_code == 422
        assert message in unescape(text(response))
        assert list(
            DunningStep.objects.filter(plan=plan).order_by("level").values_list("days", flat=True)
        ) == [
            -5,
            1,
            15,
            30,
            45,
        ]
        assert audit_count("collections.step.changed") == 0


class TestTemplates:
    def test_a_manager_saves_a_template(self, manager_user, plan):
        response = login(manager_user).post(
            template_url(plan, 1, "de"),
            {"subject": "Erinnerung {{ customer_number }}", "body": "Offen: {{ total }}\r\n"},
        )

        assert response.status_code == 302
        template = DunningTemplate.objects.get(step__plan=plan, step__level=1, language="de")
        assert (template.subject, template.body) == (
            "Erinnerung {{ customer_number }}",
            "Offen: {{ total }}\n",
        )
        event = AuditEvent.objects.get(action="collections.template.changed")
        assert event.object_type == "dunning_plan"
        assert event.object_id == plan.pk
        assert event.changes["level"] == [None, 1]
        assert event.changes["language"] == [None, "de"]
        assert event.changes["subject"][1] == "Erinnerung {{ customer_number }}"

    def test_a_template_that_does_not_compile_is_refused_on_save(self, manager_user, plan):
        before = DunningTemplate.objects.get(step__plan=plan, step__level=1, language="de")

        response = login(manager_user).post(
            template_url(plan, 1, "de"), {"subject": "Erinnerung", "body": BROKEN_BODY}
        )

        assert response.status_code == 422
        html = text(response)
        error = "Body: Unclosed tag on line 2: 'for'. Looking for one of: empty, endfor."
        assert error in unescape(html)
        assert by_id(html, "preview-error") == error  # the preview says the same
        after = DunningTemplate.objects.get(pk=before.pk)
        assert (after.subject, after.body) == (before.subject, before.body)
        assert audit_count("collections.template.changed") == 0

    def test_including_another_template_is_refused(self, manager_user, plan):
        response = login(manager_user).post(
            template_url(plan, 1, "en"), {"subject": "Hi", "body": '{% include "base.html" %}'}
        )

        assert response.status_code == 422
        assert "Body: the tag “include” is not allowed in a dunning text" in unescape(text(response))

    def test_the_preview_renders_german_text_with_german_amounts_and_dates(self, manager_user, plan):
        body = (
            "Sehr geehrte Damen und Herren von {{ customer_name }},\n"
            "{% for item in items %}{{ item.number }} fällig am {{ item.due_date }}: {{ item.open_amount }}"
            " ({{ item.days_overdue }} Tage)\n{% endfor %}Gesamt: {{ total }} (Stand {{ as_of }})"
        )

        response = login(manager_user).post(
            preview_url(plan, 2, "de"), {"subject": "Mahnung {{ customer_number }}", "body": body}
        )

        assert response.status_code == 200
        html = text(response)
        assert by_id(html, "preview-subject") == "Mahnung C-SAMPLE"
        # level 2 starts at 15 days: the sample items are 27 and 15 days past due on 16 March 2026
        assert raw_by_id(html, "preview-body") == (
            "Sehr geehrte Damen und Herren von Musterkunde GmbH,\n"
            "INV-2026-900001 fällig am 17.02.2026: 1.190,00\xa0€ (27 Tage)\n"
            "INV-2026-900002 fällig am 01.03.2026: 476,00\xa0€ (15 Tage)\n"
            "Gesamt: 1.666,00\xa0€ (Stand 16.03.2026)"
        )

    def test_the_preview_of_a_template_that_does_not_compile_is_one_line(self, collector_user, plan):
        response = login(collector_user).post(
            preview_url(plan, 1, "fr"), {"subject": "{{ customer_name|nosuchfilter }}", "body": "x"}
        )

        assert by_id(text(response), "preview-error") == "Subject: Invalid filter: 'nosuchfilter'"

    def test_the_page_shows_the_saved_template_and_its_preview(self, collector_user, plan, time_machine):
        time_machine.move_to(datetime(2026, 3, 16, 23, 30, tzinfo=UTC), tick=False)  # the 17th in Berlin
        client = login(collector_user)

        html = text(client.get(template_url(plan, 0, "fr")))

        assert 'id="template-form"' not in html  # collectors read
        names = by_id(html, "template-names")  # what delivery.notice_context gives a notice's text
        assert names.startswith(
            "Django template syntax with: as_of, customer_name, customer_number, entity_name, items"
        )
        item_names = set(names.split("each of items has: ")[1].rstrip(".").split(", "))
        assert {"days_overdue", "days_until_due", "due_date", "number", "open_amount"} <= item_names
        assert by_id(html, "preview-subject") == "Paiements à venir : client C-SAMPLE"
        body = raw_by_id(html, "preview-body")
        # the reminder's sample items fall due 3 and 5 days after the entity's today (the 17th)
        assert "- INV-2026-900001, échéance le 20 mars 2026 : 1\u202f190,00\xa0€\n" in body
        assert "- INV-2026-900002, échéance le 22 mars 2026 : 476,00\xa0€\n" in body

    def test_collectors_and_auditors_cannot_save(self, collector_user, auditor_user, plan):
        for user in (collector_user, auditor_user):
            response = login(user).post(template_url(plan, 1, "en"), {"subject": "x", "body": "y"})
            assert response.status_code == 403
        assert (
            login(collector_user)
            .post(
                reverse("collections_dunning_step", args=[plan.pk, 1]),
                {"days": "2", "channel": "email", "tone": "firm"},
            )
            .status_code
            == 403
        )
        assert audit_count("collections.template.changed") == 0

    def test_another_entitys_plan_is_not_found_and_other_roles_are_refused(
        self, manager_user, billing_user, other_entity, plan
    ):
        foreign = DunningPlan.objects.create(entity=other_entity, name="Standard", created_at=NOW)

        assert (
            login(manager_user).get(reverse("collections_dunning_plan", args=[foreign.pk])).status_code == 404
        )
        assert login(billing_user).get(reverse("collections_dunning_plans")).status_code == 403
        assert login(manager_user).get(template_url(plan, 1, "it")).status_code == 404


class TestMakingAndRetiringPlans:
    def test_a_new_plan_copies_the_source_plans_steps_and_texts_and_takes_no_customer_yet(
        self, manager_user: User, plan: DunningPlan
    ) -> None:
        response = login(manager_user).post(
            reverse("collections_dunning_plans"), {"name": "  Public   sector ", "source": plan.pk}
        )

        new = DunningPlan.objects.get(name="Public sector")
        assert response.status_code == 302
        assert response["Location"] == reverse("collections_dunning_plan", args=[new.pk])
        assert (new.is_default, new.priority, new.countries, new.customer_types) == (False, 100, "", "")
        assert list(DunningStep.objects.filter(plan=new).order_by("level").values_list("level", "days")) == [
            (0, -5),
            (1, 1),
            (2, 15),
            (3, 30),
            (4, 45),
        ]
        assert DunningTemplate.objects.filter(step__plan=new).count() == 20
        assert DunningTemplate.objects.get(step__plan=new, step__level=2, language="de").subject == (
            DunningTemplate.objects.get(step__plan=plan, step__level=2, language="de").subject
        )
        event = AuditEvent.objects.get(action="collections.plan.created")
        assert (event.object_id, event.changes, event.actor_label) == (
            new.pk,
            {"name": [None, "Public sector"], "copied_from": [None, "Standard"]},
            "martin",
        )

    def test_a_name_the_entity_has_already_is_refused(self, manager_user: User, plan: DunningPlan) -> None:
        response = login(manager_user).post(
            reverse("collections_dunning_plans"), {"name": "Standard", "source": plan.pk}
        )

        assert response.status_code == 422
        assert response.context["create_form"].errors["name"] == [
            "the entity has a plan named Standard already"
        ]
        assert DunningPlan.objects.count() == 1

    def test_a_plan_that_sent_no_notice_is_deleted_the_default_and_a_used_one_are_kept(
        self, manager_user: User, plan: DunningPlan, entity: LegalEntity, customer: Any
    ) -> None:
        client = login(manager_user)
        client.post(reverse("collections_dunning_plans"), {"name": "Unused", "source": plan.pk})
        client.post(reverse("collections_dunning_plans"), {"name": "Used", "source": plan.pk})
        unused, used = DunningPlan.objects.get(name="Unused"), DunningPlan.objects.get(name="Used")
        DunningNotice.objects.create(
            entity=entity,
            customer=customer,
            plan=used,
            as_of=NOW.date(),
            level=1,
            language="de",
            channel="email",
            tone="friendly",
            created_at=NOW,
        )

        deleted = client.post(reverse("collections_dunning_plan_delete", args=[unused.pk]))
        kept_default = client.post(reverse("collections_dunning_plan_delete", args=[plan.pk]), follow=True)
        kept_used = client.post(reverse("collections_dunning_plan_delete", args=[used.pk]), follow=True)

        assert deleted["Location"] == reverse("collections_dunning_plans")
        assert sorted(DunningPlan.objects.values_list("name", flat=True)) == ["Standard", "Used"]
        assert not DunningStep.objects.filter(plan_id=unused.pk).exists()
        assert "the default plan stays: customers outside every segment follow it" in text(kept_default)
        assert "the plan sent notices, which keep it on record" in text(kept_used)
        assert AuditEvent.objects.filter(action="collections.plan.deleted", object_id=unused.pk).count() == 1

    def test_a_notice_level_is_added_above_the_highest_with_its_texts_copied(
        self, manager_user: User, plan: DunningPlan
    ) -> None:
        response = login(manager_user).post(
            reverse("collections_dunning_step_add", args=[plan.pk]),
            {"days": "60", "channel": "letter", "tone": "final"},
        )

        assert response.status_code == 302
        step = DunningStep.objects.get(plan=plan, level=5)
        assert (step.days, step.channel, step.tone) == (60, "letter", "final")
        assert sorted(DunningTemplate.objects.filter(step=step).values_list("language", "subject")) == sorted(
            DunningTemplate.objects.filter(step__plan=plan, step__level=4).values_list("language", "subject")
        )
        event = AuditEvent.objects.get(action="collections.step.added")
        assert event.changes == {
            "level": [None, 5],
            "days": [None, 60],
            "channel": [None, "letter"],
            "tone": [None, "final"],
        }

    def test_days_below_the_highest_level_are_refused_and_nothing_is_added(
        self, manager_user: User, plan: DunningPlan
    ) -> None:
        response = login(manager_user).post(
            reverse("collections_dunning_step_add", args=[plan.pk]),
            {"days": "40", "channel": "email", "tone": "final"},
        )

        assert response.status_code == 422
        assert response.context["step_form"].non_field_errors() == [
            "a level's days are more than the level below's and fewer than the level above's"
        ]
        assert DunningStep.objects.filter(plan=plan).count() == 5

    def test_the_reminder_is_removed_and_added_again_with_the_standard_texts(
        self, manager_user: User, plan: DunningPlan
    ) -> None:
        client = login(manager_user)
        page = text(client.get(reverse("collections_dunning_plan", args=[plan.pk])))
        assert re.findall(r'id="remove-level-(\d)"', page) == ["0", "4"]

        client.post(reverse("collections_dunning_step_remove", args=[plan.pk, 0]))
        assert not DunningStep.objects.filter(plan=plan, level=0).exists()
        client.post(
            reverse("collections_dunning_step_add", args=[plan.pk]),
            {"reminder": "on", "days": "-3", "channel": "email", "tone": "friendly"},
        )

        reminder = DunningStep.objects.get(plan=plan, level=0)
        assert reminder.days == -3
        assert DunningTemplate.objects.get(step=reminder, language="fr").subject == (
            "Paiements à venir : client {{ customer_number }}"
        )
        assert [e.action for e in AuditEvent.objects.order_by("pk")][-2:] == [
            "collections.step.removed",
            "collections.step.added",
        ]

    def test_a_level_in_between_stays(self, manager_user: User, plan: DunningPlan) -> None:
        response = login(manager_user).post(
            reverse("collections_dunning_step_remove", args=[plan.pk, 2]), follow=True
        )

        assert "only the reminder or the highest level is removed" in text(response)
        assert DunningStep.objects.filter(plan=plan).count() == 5

    def test_a_collector_neither_makes_nor_deletes_plans(
        self, collector_user: User, plan: DunningPlan
    ) -> None:
        client = login(collector_user)
        page = text(client.get(reverse("collections_dunning_plans")))

        assert 'id="plan-create-form"' not in page
        assert (
            client.post(reverse("collections_dunning_plans"), {"name": "X", "source": plan.pk}).status_code
            == 403
        )
        assert client.post(reverse("collections_dunning_plan_delete", args=[plan.pk])).status_code == 403
        assert client.post(reverse("collections_dunning_step_remove", args=[plan.pk, 4])).status_code == 403
        assert DunningStep.objects.filter(plan=plan).count() == 5
