"""Dunning plans edited by AR managers (docs/collections.md, "Back-office pages"): a plan's segment
criteria, a step's days, channel and tone, and a step's template per language, each validated and
audited on the plan. A template is checked by compiling it (a template that does not compile is
refused); `template_preview` renders one with a sample customer and sample items in a language and its
locale, through the same `delivery.render` and `delivery.notice_context` as the notices sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.template import Template, TemplateSyntaxError
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections import delivery
from o2c.collections.defaults import LANGUAGES
from o2c.collections.errors import UnableToChangeDunningPlan
from o2c.collections.models import (
    Channel,
    DunningNotice,
    DunningNoticeItem,
    DunningPlan,
    DunningStep,
    DunningTemplate,
    Tone,
)
from o2c.core.money import Money, format_with_currency
from o2c.customers.models import Customer
from o2c.receivables.models import Document

EDIT_PLANS = frozenset({"ar_manager", "admin"})
"""The roles that change dunning plans, their steps and templates (the workspace's roles name the same
groups; collections sits below it)."""

SUBJECT_MAX = 300

_FORBIDDEN_TAGS = re.compile(r"{%-?\s*(include|extends|load|debug|ssi)\b")
"""Tags that would reach other templates, tag libraries or the server's state: a notice's text stands
on its own."""

_COUNTRY = re.compile(r"^[A-Z]{2}$")
RISK_CLASSES = frozenset("ABCDE")
_TERMS = re.compile(r"^[A-Z0-9/._-]{1,20}$")
# as customers.rules.normalize_customer_type spells a type
_CUSTOMER_TYPE = re.compile(r"^\w{1,30}$")
_CUSTOMER_TYPES_LENGTH = 200  # DunningPlan.customer_types


def may_edit_plans(actor: User | None) -> bool:
    if actor is None or not actor.is_active:
        return False
    return actor.is_superuser or actor.groups.filter(name__in=EDIT_PLANS).exists()


def ensure_plan_editor(actor: User | None) -> None:
    if not may_edit_plans(actor):
        raise UnableToChangeDunningPlan(
            _("only AR managers and admins change dunning plans"), code="not_allowed"
        )


# --- templates: compile, check, preview -------------------------------------------------------------


def template_error(subject: str, body: str) -> str:
    """'' when both compile and use no forbidden tag, else one line saying which part is wrong and why."""
    for part, text in ((_("Subject"), subject), (_("Body"), body)):
        forbidden = _FORBIDDEN_TAGS.search(text)
        if forbidden:
            return _("%(part)s: the tag “%(tag)s” is not allowed in a dunning text") % {
                "part": part,
                "tag": forbidden[1],
            }
        try:
            Template(text)
        except TemplateSyntaxError as error:
            return f"{part}: {' '.join(str(error).split())}"
    return ""


SAMPLE_CUSTOMERS = {
    "en": ("Sample Customer Ltd", "GB"),
    "de": ("Musterkunde GmbH", "DE"),
    "fr": ("Client Exemple SARL", "FR"),
    "es": ("Cliente Ejemplo S.L.", "ES"),
}
"""The sample customer of a preview in each language, with its country (the locale follows both)."""

SAMPLE_AMOUNTS = ("1190", "476")
"""The two sample items' open amounts, in the entity's currency."""


def sample_context(*, step: DunningStep, language: str, today: date) -> dict[str, object]:
    """What a template of this step sees for a sample customer in this language: two sample items of
    the plan's entity's currency whose days reach the step (the older 12 days more, 2 for the reminder),
    built by `delivery.notice_context` from unsaved notice objects, so the preview shows whatever the
    notices sent show."""
    plan = step.plan
    entity = plan.entity
    name, country = SAMPLE_CUSTOMERS.get(language, SAMPLE_CUSTOMERS["en"])
    customer = Customer(entity=entity, number="C-SAMPLE", name=name, country=country, language=language)
    notice = DunningNotice(
        entity=entity,
        customer=customer,
        plan=plan,
        as_of=today,
        level=step.level,
        language=language,
        channel=step.channel,
        tone=step.tone,
    )
    currency = entity.currency
    older = step.days + (12 if step.level > 0 else 2)
    items = []
    for position, (days, amount) in enumerate(zip((older, step.days), SAMPLE_AMOUNTS, strict=True)):
        document = Document(
            entity=entity,
            customer=customer,
            number=f"INV-{today.year}-{900001 + position}",
            due_date=today - timedelta(days=days),
            currency=currency,
        )
        items.append(
            DunningNoticeItem(
                entity=entity,
                document=document,
                level=step.level,
                days_overdue=days,
                open_minor=Money(Decimal(amount), currency).to_minor(),
                currency=currency,
            )
        )
    return delivery.notice_context(notice, items)


def template_names(*, step: DunningStep, today: date) -> tuple[list[str], list[str]]:
    """The names a template of the step may use, and those of each of its `items` (what
    `delivery.notice_context` gives, read from the sample context)."""
    context = sample_context(step=step, language="en", today=today)
    items = context.get("items") or [{}]
    return sorted(context), sorted(items[0]) if isinstance(items, list) and items else []


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    error: str
    """'' when the template rendered, else one line"""


def template_preview(*, step: DunningStep, language: str, subject: str, body: str, today: date) -> Preview:
    """The subject and body rendered for the sample customer (`sample_context`), or the one-line
    error that keeps the template from compiling."""
    error = template_error(subject, body)
    if error:
        return Preview("", "", error)
    try:
        rendered = delivery.render(subject, body, sample_context(step=step, language=language, today=today))
    except (TemplateSyntaxError, ValueError, TypeError, LookupError, ArithmeticError) as failure:
        return Preview("", "", " ".join(str(failure).split()) or type(failure).__name__)
    return Preview(rendered.subject, rendered.body, "")


# --- changes ----------------------------------------------------------------------------------------


def audit_plan_change(
    plan: DunningPlan,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    changes: dict[str, tuple[object, object]],
) -> None:
    audit_services.record(
        actor=actor,
        action=action,
        object_type="dunning_plan",
        object_id=plan.pk,
        object_label=plan.name,
        entity_id=plan.entity_id,
        changes=changes,
        now=now,
    )


@transaction.atomic
def dunning_template_set(
    *, step_id: int, language: str, subject: str, body: str, actor: User | None, now: datetime
) -> DunningTemplate:
    """Save a step's subject and body in one language (created if the step had none in it). Refused:
    `not_allowed` (not an AR manager or admin), `unknown_language`, `subject_required`,
    `body_required`, `subject_too_long`, `template_syntax` (does not compile, or uses a tag that is not
    allowed). Audited as `collections.template.changed` on the plan."""
    ensure_plan_editor(actor)
    step = DunningStep.objects.select_for_update().select_related("plan").get(pk=step_id)
    if language not in LANGUAGES:
        raise UnableToChangeDunningPlan(
            _("a dunning text is in one of these languages: %(languages)s")
            % {"languages": ", ".join(LANGUAGES)},
            code="unknown_language",
        )
    subject, body = " ".join(subject.split()), body.replace("\r\n", "\n")
    if not subject:
        raise UnableToChangeDunningPlan(_("a dunning text has a subject"), code="subject_required")
    if len(subject) > SUBJECT_MAX:
        raise UnableToChangeDunningPlan(
            _("a subject has at most %(count)s characters") % {"count": SUBJECT_MAX}, code="subject_too_long"
        )
    if not body.strip():
        raise UnableToChangeDunningPlan(_("a dunning text has a body"), code="body_required")
    error = template_error(subject, body)
    if error:
        raise UnableToChangeDunningPlan(error, code="template_syntax")
    template = DunningTemplate.objects.filter(step=step, language=language).first()
    before = (template.subject, template.body) if template is not None else (None, None)
    if template is None:
        template = DunningTemplate.objects.create(step=step, language=language, subject=subject, body=body)
    elif before == (subject, body):
        return template
    else:
        template.subject, template.body = subject, body
        template.save(update_fields=["subject", "body"])
    changes: dict[str, tuple[object, object]] = {"level": (None, step.level), "language": (None, language)}
    if before[0] != subject:
        changes["subject"] = (before[0], subject)
    if before[1] != body:
        changes["body"] = (before[1], body)
    audit_plan_change(step.plan, "collections.template.changed", actor=actor, now=now, changes=changes)
    return template


def check_step(level: int, days: int, channel: str, tone: str, others: dict[int, int]) -> None:
    """A step's days, channel and tone fit its level, between the plan's `others` (level -> days)."""
    if channel not in Channel.values:
        raise UnableToChangeDunningPlan(
            _("'%(channel)s' is not a channel") % {"channel": channel}, code="unknown_channel"
        )
    if tone not in Tone.values:
        raise UnableToChangeDunningPlan(_("'%(tone)s' is not a tone") % {"tone": tone}, code="unknown_tone")
    if level == 0 and days > 0:
        raise UnableToChangeDunningPlan(
            _("the reminder (level 0) comes before the due date: its days are 0 or fewer"),
            code="days_do_not_fit_level",
        )
    if level > 0 and days < 1:
        raise UnableToChangeDunningPlan(
            _("a notice (level 1 or more) comes after the due date: its days are 1 or more"),
            code="days_do_not_fit_level",
        )
    below = [other for other_level, other in others.items() if other_level < level]
    above = [other for other_level, other in others.items() if other_level > level]
    if (below and days <= max(below)) or (above and days >= min(above)):
        raise UnableToChangeDunningPlan(
            _("a level's days are more than the level below's and fewer than the level above's"),
            code="days_out_of_order",
        )


@transaction.atomic
def dunning_step_set(
    *, step_id: int, days: int, channel: str, tone: str, actor: User | None, now: datetime
) -> DunningStep:
    """Change a step's days, channel and tone. The days fit the level (level 0, the pre-due reminder:
    0 or fewer; a notice level: 1 or more) and rise with the levels (more than the level below, fewer
    than the level above). Refused: `not_allowed`, `days_do_not_fit_level`, `days_out_of_order`,
    `unknown_channel`, `unknown_tone`. Audited as `collections.step.changed` on the plan."""
    ensure_plan_editor(actor)
    step = DunningStep.objects.select_for_update().select_related("plan").get(pk=step_id)
    others = dict(
        DunningStep.objects.filter(plan_id=step.plan_id).exclude(pk=step.pk).values_list("level", "days")
    )
    check_step(step.level, days, channel, tone, others)
    before = (step.days, step.channel, step.tone)
    if before == (days, channel, tone):
        return step
    step.days, step.channel, step.tone = days, channel, tone
    step.save(update_fields=["days", "channel", "tone"])
    changes: dict[str, tuple[object, object]] = {"level": (None, step.level)}
    for name, old, new in zip(("days", "channel", "tone"), before, (days, channel, tone), strict=True):
        if old != new:
            changes[name] = (old, new)
    audit_plan_change(step.plan, "collections.step.changed", actor=actor, now=now, changes=changes)
    return step


@transaction.atomic
def dunning_plan_set(
    *,
    plan_id: int,
    priority: int,
    countries: str,
    payment_terms: str,
    min_open: Money | None,
    actor: User | None,
    now: datetime,
    risk_classes: str = "",
    customer_types: str = "",
) -> DunningPlan:
    """Change a plan's segment criteria: its priority among the entity's plans, the countries (ISO 3166
    codes), payment terms, credit risk classes (A to E) and customer types (codes such as key_account)
    it is for (space- or comma-separated; empty: any), and the least a customer owes in a currency (None:
    any amount). Refused: `not_allowed`, `bad_country`, `bad_payment_terms`, `bad_risk_class`,
    `bad_customer_type`, `negative_amount`. The default plan keeps no
    criteria: it is what customers outside every segment follow (`default_has_no_segment`). Audited as
    `collections.plan.changed`."""
    ensure_plan_editor(actor)
    plan = DunningPlan.objects.select_for_update().get(pk=plan_id)
    country_codes = sorted({code.upper() for code in countries.replace(",", " ").split()})
    terms = sorted({code.upper() for code in payment_terms.replace(",", " ").split()})
    wrong = [code for code in country_codes if not _COUNTRY.match(code)]
    if wrong:
        raise UnableToChangeDunningPlan(
            _("not a country code (two letters, ISO 3166): %(codes)s") % {"codes": ", ".join(wrong)},
            code="bad_country",
        )
    wrong = [code for code in terms if not _TERMS.match(code)]
    if wrong:
        raise UnableToChangeDunningPlan(
            _("not a payment terms code: %(codes)s") % {"codes": ", ".join(wrong)}, code="bad_payment_terms"
        )
    classes = sorted({code.upper() for code in risk_classes.replace(",", " ").split()})
    wrong = [code for code in classes if code not in RISK_CLASSES]
    if wrong:
        raise UnableToChangeDunningPlan(
            _("not a credit risk class (A to E): %(codes)s") % {"codes": ", ".join(wrong)},
            code="bad_risk_class",
        )
    types = sorted({"_".join(code.lower().split("-")) for code in customer_types.replace(",", " ").split()})
    wrong = [code for code in types if not _CUSTOMER_TYPE.match(code)]
    if wrong:
        raise UnableToChangeDunningPlan(
            _("not a customer type (letters, digits and underscores, at most 30): %(codes)s")
            % {"codes": ", ".join(wrong)},
            code="bad_customer_type",
        )
    if len(" ".join(types)) > _CUSTOMER_TYPES_LENGTH:
        raise UnableToChangeDunningPlan(
            _("the customer types take at most 200 characters"), code="bad_customer_type"
        )
    min_open_minor = min_open.to_minor() if min_open is not None else None
    if min_open_minor is not None and min_open_minor < 0:
        raise UnableToChangeDunningPlan(_("the least amount owed is 0 or more"), code="negative_amount")
    if priority < 0:
        raise UnableToChangeDunningPlan(_("the priority is 0 or more"), code="negative_priority")
    if plan.is_default and (country_codes or terms or classes or types or min_open_minor is not None):
        raise UnableToChangeDunningPlan(
            _("the default plan is for every customer outside the other plans' segments: it has no criteria"),
            code="default_has_no_segment",
        )
    after = {
        "priority": priority,
        "countries": " ".join(country_codes),
        "payment_terms": " ".join(terms),
        "risk_classes": " ".join(classes),
        "customer_types": " ".join(types),
        "min_open_minor": min_open_minor,
        "currency": min_open.currency if min_open is not None else "",
    }
    before = {name: getattr(plan, name) for name in after}
    if before == after:
        return plan
    for name, value in after.items():
        setattr(plan, name, value)
    plan.save(update_fields=list(after))
    changes: dict[str, tuple[object, object]] = {}
    for name in ("priority", "countries", "payment_terms", "risk_classes", "customer_types"):
        if before[name] != after[name]:
            changes[name] = (before[name] if before[name] != "" else None, after[name] or None)
    if (before["min_open_minor"], before["currency"]) != (min_open_minor, after["currency"]):
        changes["min_open"] = (
            format_with_currency(int(before["min_open_minor"]), str(before["currency"]))
            if before["min_open_minor"] is not None
            else None,
            format_with_currency(min_open_minor, min_open.currency)
            if min_open is not None and min_open_minor is not None
            else None,
        )
    audit_plan_change(plan, "collections.plan.changed", actor=actor, now=now, changes=changes)
    return plan


# --- reads for the pages ----------------------------------------------------------------------------


def template_languages(*, plan_ids: list[int]) -> dict[int, list[str]]:
    """Step id -> the languages it has a text in, for these plans' steps (one query)."""
    languages: dict[int, list[str]] = {}
    for step_id, language in (
        DunningTemplate.objects.filter(step__plan_id__in=plan_ids)
        .order_by("step_id", "language")
        .values_list("step_id", "language")
    ):
        languages.setdefault(step_id, []).append(language)
    return languages


def dunning_plans(*, entity_ids: list[int]) -> list[DunningPlan]:
    """The entities' plans, by entity, then in the order a customer's plan is looked for (priority,
    then id), each with its steps (two queries)."""
    return list(
        DunningPlan.objects.filter(entity_id__in=entity_ids)
        .select_related("entity")
        .prefetch_related("steps")
        .order_by("entity__code", "priority", "pk")
    )


def dunning_plan_get(*, entity_ids: list[int], plan_id: int) -> DunningPlan:
    """DoesNotExist outside the entities."""
    return DunningPlan.objects.select_related("entity").get(entity_id__in=entity_ids, pk=plan_id)


def dunning_steps(*, plan_id: int) -> list[tuple[DunningStep, list[str]]]:
    """The plan's steps by level, each with the languages it has a text in (two queries)."""
    steps = list(DunningStep.objects.filter(plan_id=plan_id).order_by("level"))
    languages = template_languages(plan_ids=[plan_id])
    return [(step, languages.get(step.pk, [])) for step in steps]


def dunning_step_get(*, entity_ids: list[int], plan_id: int, level: int) -> DunningStep:
    """DoesNotExist outside the entities."""
    return DunningStep.objects.select_related("plan", "plan__entity").get(
        plan__entity_id__in=entity_ids, plan_id=plan_id, level=level
    )


def dunning_template_of(*, step_id: int, language: str) -> DunningTemplate | None:
    return DunningTemplate.objects.filter(step_id=step_id, language=language).first()
