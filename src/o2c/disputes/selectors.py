"""Reads of cases: the list with its filters, one case with its notes, the policies that route and time
new cases, and the customer's own codes."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, Prefetch, Q, QuerySet

from o2c.disputes import rules
from o2c.disputes.models import (
    Case,
    CaseAttachment,
    ReasonCode,
    ReasonMapping,
    ReasonPolicy,
    WriteOffPolicy,
)


def case_list(
    *,
    entity_ids: list[int],
    state: str = "",
    customer_id: int | None = None,
    owner_id: int | None = None,
    reason_code: str = "",
    kind: str = "",
    open_only: bool = False,
    team: str = "",
    customer_search: str = "",
) -> QuerySet[Case]:
    """The cases of the granted legal entities, with what a list shows of their documents and people.
    `customer_search`: the customer's number exactly, or a part of its name."""
    cases = Case.objects.filter(entity_id__in=entity_ids).select_related(
        "entity", "customer", "document", "owner"
    )
    if state:
        cases = cases.filter(state=state)
    if open_only:
        cases = cases.filter(state__in=rules.WORKING_STATES)
    if customer_id is not None:
        cases = cases.filter(customer_id=customer_id)
    if owner_id is not None:
        cases = cases.filter(owner_id=owner_id)
    if reason_code:
        cases = cases.filter(reason_code=reason_code)
    if kind:
        cases = cases.filter(kind=kind)
    if team:
        cases = cases.filter(team=team)
    if customer_search.strip():
        text = customer_search.strip()
        cases = cases.filter(Q(customer__number=text) | Q(customer__name__icontains=text))
    return cases


def case_owner_choices(*, entity_ids: list[int], groups: frozenset[str]) -> list[tuple[int, str]]:
    """(id, username) of the active people who may own cases of these legal entities: in one of
    `groups` (the roles that change cases) or superusers, and granted one of the entities."""
    people = (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=groups) | Q(is_superuser=True))
        .filter(Q(entity_grants__entity_id__in=entity_ids) | Q(is_superuser=True))
        .values_list("pk", "username")
        .distinct()
        .order_by("username")
    )
    return list(people)


def case_get(*, entity_ids: list[int], case_id: int) -> Case:
    """One case of the granted legal entities (Case.DoesNotExist otherwise: 404 in the API)."""
    return (
        Case.objects.select_related(
            "entity",
            "customer",
            "document",
            "document_line",
            "payment",
            "owner",
            "resolved_by",
            "requested_by",
            "approved_by",
            "credit_memo",
            "rebill",
        )
        .prefetch_related(
            "notes__author",
            Prefetch(
                "attachments",
                queryset=CaseAttachment.objects.defer("content").select_related("uploaded_by"),
            ),
        )
        .get(entity_id__in=entity_ids, pk=case_id)
    )


def cases_on(*, entity_ids: list[int], document_id: int) -> QuerySet[Case]:
    """Every case on a document of the granted legal entities (open or ended), oldest first."""
    return (
        Case.objects.filter(entity_id__in=entity_ids, document_id=document_id)
        .select_related("owner")
        .order_by("pk")
    )


def open_cases_on(*, document_id: int, excluding: int | None = None) -> QuerySet[Case]:
    cases = Case.objects.filter(document_id=document_id, state__in=rules.WORKING_STATES)
    if excluding is not None:
        cases = cases.exclude(pk=excluding)
    return cases


def deduction_case_for(*, payment_id: int, document_id: int) -> Case | None:
    return Case.objects.filter(
        kind=Case.Kind.DEDUCTION, payment_id=payment_id, document_id=document_id
    ).first()


@dataclass(frozen=True)
class Routing:
    team: str
    sla_days: int


def routing_for(*, entity_id: int, reason_code: str) -> Routing:
    """The team and SLA of a new case: its entity's policy for the reason, else the defaults."""
    policy = ReasonPolicy.objects.filter(entity_id=entity_id, reason_code=reason_code).first()
    if policy is not None:
        return Routing(team=policy.team, sla_days=policy.sla_days)
    return Routing(team=rules.DEFAULT_TEAMS[reason_code], sla_days=rules.DEFAULT_SLA_DAYS)


def reason_for_customer_code(*, entity_id: int, customer_id: int, text: str) -> str | None:
    """The reason code a customer's own code in `text` means: the customer's mapping before the
    entity's, the whole text before its words (`rules.code_candidates`); None when nothing is mapped."""
    candidates = rules.code_candidates(text)
    if not candidates:
        return None
    mappings = {
        (mapping.customer_id, mapping.customer_code): mapping.reason_code
        for mapping in ReasonMapping.objects.filter(entity_id=entity_id, customer_code__in=candidates)
    }
    for owner in (customer_id, None):
        for code in candidates:
            found = mappings.get((owner, code))
            if found is not None:
                return found
    return None


def reason_mapping_list(*, entity_ids: list[int]) -> QuerySet[ReasonMapping]:
    """By code, the entity's mapping (no customer) before the customers' (by number), on both databases."""
    return (
        ReasonMapping.objects.filter(entity_id__in=entity_ids)
        .select_related("customer")
        .order_by("customer_code", F("customer__number").asc(nulls_first=True))
    )


def write_off_policy_for(*, entity_id: int, currency: str) -> WriteOffPolicy | None:
    return WriteOffPolicy.objects.filter(entity_id=entity_id, currency=currency).first()


def write_off_vat_relief() -> dict[str, int]:
    """Per seller country, the months after the later of due and issue date from which a case's
    write-off posts the VAT relief: the setting `O2C_WRITE_OFF_VAT_RELIEF`, else
    `rules.DEFAULT_WRITE_OFF_VAT_RELIEF`."""
    configured = getattr(settings, "O2C_WRITE_OFF_VAT_RELIEF", None)
    if configured is None:
        return dict(rules.DEFAULT_WRITE_OFF_VAT_RELIEF)
    return {str(country).upper(): int(months) for country, months in configured.items()}


def case_attachment_get(*, case_id: int, attachment_id: int) -> CaseAttachment:
    """A file of a case, with its content (CaseAttachment.DoesNotExist otherwise: 404)."""
    return CaseAttachment.objects.get(case_id=case_id, pk=attachment_id)


@dataclass(frozen=True)
class PolicyRow:
    reason_code: str
    team: str
    sla_days: int
    is_default: bool


def reason_policy_list(*, entity_id: int) -> list[PolicyRow]:
    """Every reason code with the team and SLA a new case of it gets in the entity: its policy, or the
    defaults (`is_default`)."""
    policies = {policy.reason_code: policy for policy in ReasonPolicy.objects.filter(entity_id=entity_id)}
    rows = []
    for code in ReasonCode.values:
        policy = policies.get(code)
        if policy is not None:
            rows.append(PolicyRow(code, policy.team, policy.sla_days, False))
        else:
            rows.append(PolicyRow(code, rules.DEFAULT_TEAMS[code], rules.DEFAULT_SLA_DAYS, True))
    return rows


def write_off_policy_list(*, entity_id: int) -> QuerySet[WriteOffPolicy]:
    return (
        WriteOffPolicy.objects.filter(entity_id=entity_id).select_related("changed_by").order_by("currency")
    )
