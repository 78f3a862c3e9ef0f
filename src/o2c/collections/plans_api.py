"""The dunning plans API under `/api/collections/dunning-plans` (docs/collections.md, "Back-office
pages" and "The API"): an entity's plans with their segment and steps, a step's days, channel and tone,
and a step's text per language, with a preview for a sample customer.

Reading needs VIEW_COLLECTIONS (collector, AR manager, admin, auditor); changing EDIT_DUNNING_PLANS (AR
manager, admin). Another entity's plan is 404. Refusals are 422 with the service's code
(`days_out_of_order`, `template_syntax`, ...).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from o2c.collections import api as collections_api
from o2c.collections import plan_setup, templating
from o2c.collections.defaults import LANGUAGES
from o2c.collections.models import DunningPlan, DunningStep, DunningTemplate
from o2c.core import clock
from o2c.core.money import Money, format_minor
from o2c.customers import api as customers_api
from o2c.customers.schemas import DecimalString, decimal_of

router = Router(tags=["collections"])

# The capability of changing plans; o2c.config.api maps it to the roles that grant it (reading is the
# collections API's VIEW_COLLECTIONS).
EDIT_DUNNING_PLANS = "edit_dunning_plans"
VIEW_COLLECTIONS = collections_api.VIEW_COLLECTIONS


class StepOut(Schema):
    level: int
    days: int
    channel: str
    tone: str
    languages: list[str] = Field(description="the languages the step has a text in")


class DunningPlanOut(Schema):
    id: int
    entity: str
    name: str
    is_default: bool
    priority: int
    countries: list[str]
    payment_terms: list[str]
    risk_classes: list[str] = Field(description="credit risk classes A to E; empty: any")
    customer_types: list[str] = Field(description="customer type codes; empty: any")
    min_open: str | None = Field(description="the least a customer owes in `currency`, or null")
    currency: str | None
    steps: list[StepOut]

    @staticmethod
    def of(plan: DunningPlan, steps: list[tuple[DunningStep, list[str]]]) -> DunningPlanOut:
        return DunningPlanOut(
            id=plan.pk,
            entity=plan.entity.code,
            name=plan.name,
            is_default=plan.is_default,
            priority=plan.priority,
            countries=plan.countries.split(),
            payment_terms=plan.payment_terms.split(),
            risk_classes=plan.risk_classes.split(),
            customer_types=plan.customer_types.split(),
            min_open=format_minor(plan.min_open_minor, plan.currency)
            if plan.min_open_minor is not None
            else None,
            currency=plan.currency or None,
            steps=[
                StepOut(
                    level=step.level,
                    days=step.days,
                    channel=step.channel,
                    tone=step.tone,
                    languages=languages,
                )
                for step, languages in steps
            ],
        )


class SegmentIn(Schema):
    priority: int = Field(ge=0, description="lower first among the entity's plans")
    countries: list[str] = Field(default_factory=list, examples=[["DE", "AT"]])
    payment_terms: list[str] = Field(default_factory=list, examples=[["NET60"]])
    risk_classes: list[str] = Field(default_factory=list, examples=[["D", "E"]])
    customer_types: list[str] = Field(default_factory=list, examples=[["key_account", "public_sector"]])
    min_open: DecimalString | None = Field(None, description="the least a customer owes, or null")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="of `min_open`")


class StepIn(Schema):
    days: int = Field(description="from the due date: level 0 0 or fewer, notices 1 or more")
    channel: str = Field(examples=["email"])
    tone: str = Field(examples=["firm"])


class PlanIn(Schema):
    name: str = Field(max_length=100, examples=["Public sector"])
    copy_from: int = Field(description="the id of the plan whose steps and texts the new plan starts with")


class StepAddIn(StepIn):
    reminder: bool = Field(
        False, description="the pre-due reminder (level 0); else a level above the highest"
    )


class TemplateIn(Schema):
    subject: str = Field(max_length=300)
    body: str


class TemplateOut(Schema):
    level: int
    language: str
    subject: str
    body: str


class PreviewOut(Schema):
    subject: str
    body: str
    error: str = Field(description="one line when the text does not compile, else empty")


def _plan(request: HttpRequest, capability: str, plan_id: int) -> tuple[customers_api.Caller, DunningPlan]:
    who = customers_api.caller(request, capability)
    return who, templating.dunning_plan_get(entity_ids=customers_api.entity_ids(who), plan_id=plan_id)


def _step(
    request: HttpRequest, capability: str, plan_id: int, level: int
) -> tuple[customers_api.Caller, DunningStep]:
    who = customers_api.caller(request, capability)
    step = templating.dunning_step_get(entity_ids=customers_api.entity_ids(who), plan_id=plan_id, level=level)
    return who, step


def _plan_out(plan: DunningPlan) -> DunningPlanOut:
    return DunningPlanOut.of(plan, templating.dunning_steps(plan_id=plan.pk))


@router.get("/dunning-plans", response=list[DunningPlanOut], summary="List dunning plans")
def dunning_plan_list(request: HttpRequest, entity: str | None = None) -> list[DunningPlanOut]:
    """The plans of the caller's entities (or of one, by code), in the order a customer's plan is looked
    for: by entity, priority, then id."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    plans = [
        plan
        for plan in templating.dunning_plans(entity_ids=customers_api.entity_ids(who))
        if entity is None or plan.entity.code == entity
    ]
    languages = templating.template_languages(plan_ids=[plan.pk for plan in plans])
    return [
        DunningPlanOut.of(
            plan,
            [
                (step, languages.get(step.pk, []))
                for step in sorted(plan.steps.all(), key=lambda step: step.level)
            ],
        )
        for plan in plans
    ]


@router.get("/dunning-plans/{int:plan_id}", response=DunningPlanOut, summary="A dunning plan")
def dunning_plan_get(request: HttpRequest, plan_id: int) -> DunningPlanOut:
    """With its steps and the languages each has a text in."""
    _who, plan = _plan(request, VIEW_COLLECTIONS, plan_id)
    return _plan_out(plan)


@router.put("/dunning-plans/{int:plan_id}", response=DunningPlanOut, summary="Set a plan's segment")
def dunning_plan_set(request: HttpRequest, plan_id: int, payload: SegmentIn) -> DunningPlanOut:
    """Refused: 422 `bad_country`, `bad_payment_terms`, `bad_risk_class`, `negative_amount`,
    `default_has_no_segment`."""
    who, plan = _plan(request, EDIT_DUNNING_PLANS, plan_id)
    min_open = None
    if payload.min_open is not None:
        min_open = Money(decimal_of(payload.min_open), payload.currency or plan.entity.currency)
    templating.dunning_plan_set(
        plan_id=plan.pk,
        priority=payload.priority,
        countries=" ".join(payload.countries),
        payment_terms=" ".join(payload.payment_terms),
        risk_classes=" ".join(payload.risk_classes),
        customer_types=" ".join(payload.customer_types),
        min_open=min_open,
        actor=who.user,
        now=clock.now(),
    )
    return _plan_out(templating.dunning_plan_get(entity_ids=[plan.entity_id], plan_id=plan.pk))


@router.put("/dunning-plans/{int:plan_id}/steps/{int:level}", response=StepOut, summary="Change a step")
def dunning_step_set(request: HttpRequest, plan_id: int, level: int, payload: StepIn) -> StepOut:
    """Refused: 422 `days_do_not_fit_level`, `days_out_of_order`, `unknown_channel`, `unknown_tone`."""
    who, step = _step(request, EDIT_DUNNING_PLANS, plan_id, level)
    changed = templating.dunning_step_set(
        step_id=step.pk,
        days=payload.days,
        channel=payload.channel,
        tone=payload.tone,
        actor=who.user,
        now=clock.now(),
    )
    languages = dict(templating.dunning_steps(plan_id=plan_id)).get(changed, [])
    return StepOut(
        level=changed.level,
        days=changed.days,
        channel=changed.channel,
        tone=changed.tone,
        languages=languages,
    )


@router.post("/dunning-plans", response={201: DunningPlanOut}, summary="Make a dunning plan")
def dunning_plan_create(request: HttpRequest, payload: PlanIn) -> Status[DunningPlanOut]:
    """A copy of the plan `copy_from` (its steps and texts) in that plan's entity, with no segment and
    priority 100: it takes no customer until its segment is set. Refused: 422 `name_required`,
    `name_too_long`, `duplicate_name`."""
    who, source = _plan(request, EDIT_DUNNING_PLANS, payload.copy_from)
    plan = plan_setup.dunning_plan_create(
        source_plan_id=source.pk, name=payload.name, actor=who.user, now=clock.now()
    )
    return Status(201, _plan_out(templating.dunning_plan_get(entity_ids=[plan.entity_id], plan_id=plan.pk)))


@router.delete("/dunning-plans/{int:plan_id}", response={204: None}, summary="Delete a dunning plan")
def dunning_plan_delete(request: HttpRequest, plan_id: int) -> Status[None]:
    """Refused: 422 `default_plan_kept`, `plan_in_use` (it sent notices)."""
    who, plan = _plan(request, EDIT_DUNNING_PLANS, plan_id)
    plan_setup.dunning_plan_delete(plan_id=plan.pk, actor=who.user, now=clock.now())
    return Status(204, None)


@router.post("/dunning-plans/{int:plan_id}/steps", response={201: StepOut}, summary="Add a step")
def dunning_step_add(request: HttpRequest, plan_id: int, payload: StepAddIn) -> Status[StepOut]:
    """The reminder (level 0, with the standard texts) or a notice level above the highest (with that
    level's texts copied). Refused: 422 `reminder_exists`, `too_many_levels`, `days_do_not_fit_level`,
    `days_out_of_order`, `unknown_channel`, `unknown_tone`."""
    who, plan = _plan(request, EDIT_DUNNING_PLANS, plan_id)
    step = plan_setup.dunning_step_add(
        plan_id=plan.pk,
        reminder=payload.reminder,
        days=payload.days,
        channel=payload.channel,
        tone=payload.tone,
        actor=who.user,
        now=clock.now(),
    )
    languages = dict(templating.dunning_steps(plan_id=plan.pk)).get(step, [])
    return Status(
        201,
        StepOut(level=step.level, days=step.days, channel=step.channel, tone=step.tone, languages=languages),
    )


@router.delete(
    "/dunning-plans/{int:plan_id}/steps/{int:level}", response={204: None}, summary="Remove a step"
)
def dunning_step_remove(request: HttpRequest, plan_id: int, level: int) -> Status[None]:
    """The reminder or the highest level. Refused: 422 `not_top_level`, `last_notice_level`."""
    who, step = _step(request, EDIT_DUNNING_PLANS, plan_id, level)
    plan_setup.dunning_step_remove(plan_id=step.plan_id, level=level, actor=who.user, now=clock.now())
    return Status(204, None)


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise Http404(language)
    return language


@router.get(
    "/dunning-plans/{int:plan_id}/steps/{int:level}/templates/{language}",
    response=TemplateOut,
    summary="A step's text in one language",
)
def dunning_template_get(request: HttpRequest, plan_id: int, level: int, language: str) -> TemplateOut:
    """404 when the step has no text in that language (notices are then sent in English)."""
    _who, step = _step(request, VIEW_COLLECTIONS, plan_id, level)
    template = templating.dunning_template_of(step_id=step.pk, language=_language(language))
    if template is None:
        raise DunningTemplate.DoesNotExist
    return TemplateOut(level=level, language=language, subject=template.subject, body=template.body)


@router.put(
    "/dunning-plans/{int:plan_id}/steps/{int:level}/templates/{language}",
    response=TemplateOut,
    summary="Set a step's text in one language",
)
def dunning_template_set(
    request: HttpRequest, plan_id: int, level: int, language: str, payload: TemplateIn
) -> TemplateOut:
    """Created or replaced. Refused: 422 `template_syntax` (does not compile, or uses a tag that is not
    allowed), `subject_required`, `body_required`."""
    who, step = _step(request, EDIT_DUNNING_PLANS, plan_id, level)
    template = templating.dunning_template_set(
        step_id=step.pk,
        language=_language(language),
        subject=payload.subject,
        body=payload.body,
        actor=who.user,
        now=clock.now(),
    )
    return TemplateOut(level=level, language=language, subject=template.subject, body=template.body)


@router.post(
    "/dunning-plans/{int:plan_id}/steps/{int:level}/templates/{language}/preview",
    response=PreviewOut,
    summary="Preview a text for a sample customer",
)
def dunning_template_preview(
    request: HttpRequest, plan_id: int, level: int, language: str, payload: TemplateIn
) -> PreviewOut:
    """The subject and body rendered for a sample customer of the language with two sample items, in the
    language's locale, as the notices are (nothing is saved); `error` is one line when they do not
    compile."""
    _who, step = _step(request, VIEW_COLLECTIONS, plan_id, level)
    preview = templating.template_preview(
        step=step,
        language=_language(language),
        subject=payload.subject,
        body=payload.body,
        today=clock.today_in(step.plan.entity.time_zone),
    )
    return PreviewOut(subject=preview.subject, body=preview.body, error=preview.error)
