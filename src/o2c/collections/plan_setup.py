"""Dunning plans made and retired by AR managers (docs/collections.md, "Back-office pages"): a new plan
starts as a copy of another (its steps and texts), to be given a segment and edited; a plan that sent
no notice can be deleted; a plan's notice levels grow or shrink at the top, and its pre-due reminder
comes and goes. Each change is audited on the plan."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.collections.defaults import DEFAULT_STEPS
from o2c.collections.errors import UnableToChangeDunningPlan
from o2c.collections.models import DunningNotice, DunningPlan, DunningStep, DunningTemplate
from o2c.collections.templating import audit_plan_change, check_step, ensure_plan_editor

NAME_MAX = 100
LEVELS_MAX = 9


@transaction.atomic
def dunning_plan_create(*, source_plan_id: int, name: str, actor: User | None, now: datetime) -> DunningPlan:
    """A new plan of the source plan's entity with its steps and texts copied, no segment and the lowest
    priority (100): it takes no customer until a segment is given. Refused: `not_allowed`,
    `name_required`, `name_too_long`, `duplicate_name`. Audited as `collections.plan.created`."""
    ensure_plan_editor(actor)
    source = DunningPlan.objects.get(pk=source_plan_id)
    name = " ".join(name.split())
    if not name:
        raise UnableToChangeDunningPlan(_("a plan has a name"), code="name_required")
    if len(name) > NAME_MAX:
        raise UnableToChangeDunningPlan(
            _("a plan's name has at most %(count)s characters") % {"count": NAME_MAX}, code="name_too_long"
        )
    if DunningPlan.objects.filter(entity_id=source.entity_id, name=name).exists():
        raise UnableToChangeDunningPlan(
            _("the entity has a plan named %(name)s already") % {"name": name}, code="duplicate_name"
        )
    plan = DunningPlan.objects.create(entity_id=source.entity_id, name=name, priority=100, created_at=now)
    for step in DunningStep.objects.filter(plan=source).order_by("level"):
        copy = DunningStep.objects.create(
            plan=plan, level=step.level, days=step.days, channel=step.channel, tone=step.tone
        )
        DunningTemplate.objects.bulk_create(
            DunningTemplate(step=copy, language=text.language, subject=text.subject, body=text.body)
            for text in DunningTemplate.objects.filter(step=step).order_by("language")
        )
    audit_plan_change(
        plan,
        "collections.plan.created",
        actor=actor,
        now=now,
        changes={"name": (None, name), "copied_from": (None, source.name)},
    )
    return plan


@transaction.atomic
def dunning_plan_delete(*, plan_id: int, actor: User | None, now: datetime) -> None:
    """Delete a plan with its steps and texts. Refused: `not_allowed`, `default_plan_kept` (the entity's
    default plan), `plan_in_use` (it sent notices, which keep it for the record: give it a segment no
    customer is in instead). Audited as `collections.plan.deleted`."""
    ensure_plan_editor(actor)
    plan = DunningPlan.objects.select_for_update().get(pk=plan_id)
    if plan.is_default:
        raise UnableToChangeDunningPlan(
            _("the default plan stays: customers outside every segment follow it"), code="default_plan_kept"
        )
    if DunningNotice.objects.filter(plan=plan).exists():
        raise UnableToChangeDunningPlan(
            _("the plan sent notices, which keep it on record; give it a segment no customer is in instead"),
            code="plan_in_use",
        )
    audit_plan_change(
        plan, "collections.plan.deleted", actor=actor, now=now, changes={"name": (plan.name, None)}
    )
    DunningTemplate.objects.filter(step__plan=plan).delete()
    DunningStep.objects.filter(plan=plan).delete()
    plan.delete()


@transaction.atomic
def dunning_step_add(
    *, plan_id: int, reminder: bool, days: int, channel: str, tone: str, actor: User | None, now: datetime
) -> DunningStep:
    """Add the plan's pre-due reminder (level 0, with the standard reminder texts) or a notice level
    above its highest (with that level's texts copied, to be edited). Refused: `not_allowed`,
    `reminder_exists`, `too_many_levels` (more than 9), `unknown_channel`, `unknown_tone`,
    `days_do_not_fit_level`, `days_out_of_order`. Audited as `collections.step.added`."""
    ensure_plan_editor(actor)
    plan = DunningPlan.objects.select_for_update().get(pk=plan_id)
    others = dict(DunningStep.objects.filter(plan=plan).values_list("level", "days"))
    if reminder and 0 in others:
        raise UnableToChangeDunningPlan(_("the plan has a reminder already"), code="reminder_exists")
    level = 0 if reminder else max(others, default=0) + 1
    if level > LEVELS_MAX:
        raise UnableToChangeDunningPlan(
            _("a plan has at most %(count)s notice levels") % {"count": LEVELS_MAX}, code="too_many_levels"
        )
    check_step(level, days, channel, tone, others)
    step = DunningStep.objects.create(plan=plan, level=level, days=days, channel=channel, tone=tone)
    if reminder:
        standard = next(default for default in DEFAULT_STEPS if default.level == 0)
        templates = [
            DunningTemplate(step=step, language=language, subject=subject, body=body)
            for language, (subject, body) in standard.templates.items()
        ]
    else:
        templates = [
            DunningTemplate(step=step, language=text.language, subject=text.subject, body=text.body)
            for text in DunningTemplate.objects.filter(step__plan=plan, step__level=level - 1).order_by(
                "language"
            )
        ]
    DunningTemplate.objects.bulk_create(templates)
    audit_plan_change(
        plan,
        "collections.step.added",
        actor=actor,
        now=now,
        changes={
            "level": (None, level),
            "days": (None, days),
            "channel": (None, channel),
            "tone": (None, tone),
        },
    )
    return step


@transaction.atomic
def dunning_step_remove(*, plan_id: int, level: int, actor: User | None, now: datetime) -> None:
    """Remove the plan's reminder (level 0) or its highest notice level, with its texts; notices sent at
    that level keep their texts as sent. Refused: `not_allowed`, `not_top_level` (a level in between:
    the levels stay one after another), `last_notice_level` (a plan keeps one notice level). Audited as
    `collections.step.removed`."""
    ensure_plan_editor(actor)
    plan = DunningPlan.objects.select_for_update().get(pk=plan_id)
    step = DunningStep.objects.get(plan=plan, level=level)
    notice_levels = sorted(DunningStep.objects.filter(plan=plan, level__gt=0).values_list("level", flat=True))
    if level > 0 and level != notice_levels[-1]:
        raise UnableToChangeDunningPlan(
            _("only the reminder or the highest level is removed: the levels stay one after another"),
            code="not_top_level",
        )
    if level > 0 and len(notice_levels) == 1:
        raise UnableToChangeDunningPlan(_("a plan keeps at least one notice level"), code="last_notice_level")
    audit_plan_change(
        plan,
        "collections.step.removed",
        actor=actor,
        now=now,
        changes={"level": (level, None), "days": (step.days, None), "channel": (step.channel, None)},
    )
    DunningTemplate.objects.filter(step=step).delete()
    step.delete()
