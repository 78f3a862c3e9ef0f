"""Collection agencies (docs/escalation.md, "Agency placement"): an AR manager places a customer's open
items with an agency, which moves the account to the agency level and takes the items out of dunning;
recalling the placement (with a reason) brings them back and the account to the level it had before.
The cash applied to placed items since their placement is read from the allocations, and the items
still open are exported for the agency as CSV (`export_rows`, `EXPORT_COLUMNS`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections import escalation
from o2c.collections.models import (
    AgencyPlacement,
    CollectionAgency,
    DunningNoticeItem,
    EscalationChange,
    EscalationLevel,
    PlacedItem,
)
from o2c.core.exceptions import DomainError
from o2c.core.money import format_minor, format_with_currency
from o2c.customers.models import Contact, Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Allocation, Document, DocumentType


class UnableToPlace(DomainError):
    pass


def _ensure_manager(actor: User | None, message: str) -> None:
    if actor is not None and not escalation.may_move(actor, EscalationLevel.LEGAL, EscalationLevel.AGENCY):
        raise UnableToPlace(message, code="not_allowed")


@transaction.atomic
def agency_create(
    *, entity: LegalEntity, code: str, name: str, actor: User | None, now: datetime, email: str = ""
) -> CollectionAgency:
    """Add a collection agency to the entity (AR managers and admins): its code (unique in the entity)
    and name. Audited."""
    _ensure_manager(actor, _("an AR manager adds collection agencies"))
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise UnableToPlace(_("an agency needs a code and a name"), code="name_required")
    if CollectionAgency.objects.filter(entity=entity, code=code).exists():
        raise UnableToPlace(_("agency %(code)s exists already") % {"code": code}, code="duplicate_code")
    agency = CollectionAgency.objects.create(
        entity=entity, code=code, name=name, email=email.strip(), created_at=now
    )
    audit_services.record(
        actor=actor,
        action="collections.agency.created",
        object_type="collection_agency",
        object_id=agency.pk,
        object_label=agency.code,
        entity_id=entity.pk,
        changes={"name": (None, agency.name)},
        now=now,
    )
    return agency


def agency_get(*, entity_ids: list[int], code: str) -> CollectionAgency:
    """The agency of that code in the entities; UnableToPlace `unknown_agency` when there is none."""
    agency = CollectionAgency.objects.filter(entity_id__in=entity_ids, code=code).order_by("pk").first()
    if agency is None:
        raise UnableToPlace(_("unknown agency '%(code)s'") % {"code": code}, code="unknown_agency")
    return agency


def placeable_documents(*, customer_id: int) -> list[Document]:
    """The customer's issued invoices and debit memos with an open amount that are not with an agency."""
    return list(
        Document.objects.filter(
            customer_id=customer_id,
            status=Document.Status.ISSUED,
            document_type__in=(DocumentType.INVOICE, DocumentType.DEBIT_MEMO),
            open_minor__gt=0,
        )
        .exclude(pk__in=PlacedItem.objects.filter(is_placed=True).values("document_id"))
        .order_by("due_date", "pk")
    )


@transaction.atomic
def placement_create(
    *,
    customer: Customer,
    agency: CollectionAgency,
    reason_code: str,
    reason_text: str,
    actor: User | None,
    now: datetime,
    documents: Sequence[Document] | None = None,
) -> AgencyPlacement:
    """Place the customer's items with the agency (AR managers and admins): `documents`, by default all
    its open invoices and debit memos not placed yet, each with its open amount today. The account moves
    to the agency level (kept in its history), the items leave dunning until recalled. Refused:
    `not_allowed`, `unknown_reason`, `reason_required`, `other_entity`, `no_documents`, `not_open`,
    `already_placed`, `other_customer`. Audited."""
    Customer.objects.select_for_update().filter(pk=customer.pk).get()
    _ensure_manager(actor, _("an AR manager places accounts with a collection agency"))
    escalation_reason_check(reason_code, reason_text)
    if agency.entity_id != customer.entity_id or not agency.is_active:
        raise UnableToPlace(
            _("agency %(code)s does not work for this customer's legal entity") % {"code": agency.code},
            code="other_entity",
        )
    if documents is None:
        chosen = placeable_documents(customer_id=customer.pk)
    else:
        chosen = list(
            Document.objects.select_for_update()
            .filter(pk__in=[document.pk for document in documents])
            .order_by("pk")
        )
        for document in chosen:
            if document.customer_id != customer.pk:
                raise UnableToPlace(
                    _("a placement covers documents of its customer only"), code="other_customer"
                )
            if (
                document.status != Document.Status.ISSUED
                or document.document_type == DocumentType.CREDIT_MEMO
                or document.open_minor <= 0
            ):
                raise UnableToPlace(
                    _("%(number)s has nothing open to place") % {"number": document.number or document.pk},
                    code="not_open",
                )
        placed = set(
            PlacedItem.objects.filter(document__in=chosen, is_placed=True).values_list(
                "document__number", flat=True
            )
        )
        if placed:
            raise UnableToPlace(
                _("already with an agency: %(numbers)s") % {"numbers": ", ".join(sorted(map(str, placed)))},
                code="already_placed",
            )
    if not chosen:
        raise UnableToPlace(_("the customer has nothing open to place"), code="no_documents")
    placement = AgencyPlacement.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        agency=agency,
        placed_on=escalation.today_of(customer.entity, now),
        reason_code=reason_code,
        reason_text=reason_text.strip(),
        placed_at=now,
        placed_by=actor,
    )
    PlacedItem.objects.bulk_create(
        PlacedItem(
            placement=placement,
            entity_id=customer.entity_id,
            document=document,
            currency=document.currency,
            open_minor=document.open_minor,
        )
        for document in chosen
    )
    if escalation.level_of(customer_id=customer.pk) != EscalationLevel.AGENCY:
        escalation.level_set(
            customer=customer,
            to_level=EscalationLevel.AGENCY,
            reason_code=reason_code,
            reason_text=reason_text,
            actor=actor,
            now=now,
            action="collections.escalation.raised",
        )
    totals: dict[str, int] = {}
    for document in chosen:
        totals[document.currency] = totals.get(document.currency, 0) + document.open_minor
    audit_services.record(
        actor=actor,
        action="collections.agency_placement.created",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={
            "placement": (None, placement.pk),
            "agency": (None, agency.code),
            "documents": (None, ", ".join(document.number or "" for document in chosen)),
            "open": (
                None,
                " + ".join(
                    format_with_currency(minor, currency) or "" for currency, minor in sorted(totals.items())
                ),
            ),
        },
        reason=placement.reason_text,
        now=now,
    )
    return placement


def escalation_reason_check(reason_code: str, reason_text: str) -> None:
    try:
        escalation._check_reason(reason_code, reason_text)
    except escalation.UnableToEscalate as error:
        raise UnableToPlace(error.message, code=error.code) from None


@transaction.atomic
def placement_recall(
    *, placement_id: int, reason_text: str, actor: User | None, now: datetime, reason_code: str = "other"
) -> AgencyPlacement:
    """Take a placement back from the agency (AR managers and admins), saying why: its items come back to
    dunning, and the account returns to the level it had before its placement unless another placement
    of it still runs. Refused: `not_placed` (recalled already), `reason_required`. Audited."""
    placement = (
        AgencyPlacement.objects.select_for_update()
        .select_related("customer__entity", "agency")
        .get(pk=placement_id)
    )
    customer = placement.customer
    Customer.objects.select_for_update().filter(pk=customer.pk).get()
    _ensure_manager(actor, _("an AR manager recalls placements from an agency"))
    escalation_reason_check(reason_code, reason_text)
    if placement.state != AgencyPlacement.State.PLACED:
        raise UnableToPlace(
            _("placement %(id)s was recalled already") % {"id": placement.pk}, code="not_placed"
        )
    placement.state = AgencyPlacement.State.RECALLED
    placement.recalled_on = escalation.today_of(customer.entity, now)
    placement.recall_reason = reason_text.strip()
    placement.recalled_at = now
    placement.recalled_by = actor
    placement.save(update_fields=["state", "recalled_on", "recall_reason", "recalled_at", "recalled_by"])
    PlacedItem.objects.filter(placement=placement).update(is_placed=False)
    still_placed = AgencyPlacement.objects.filter(
        customer=customer, state=AgencyPlacement.State.PLACED
    ).exists()
    if not still_placed and escalation.level_of(customer_id=customer.pk) == EscalationLevel.AGENCY:
        before = (
            EscalationChange.objects.filter(customer=customer, to_level=EscalationLevel.AGENCY)
            .order_by("-changed_at", "-pk")
            .values_list("from_level", flat=True)
            .first()
        ) or EscalationLevel.COLLECTOR.value
        escalation.level_set(
            customer=customer,
            to_level=before,
            reason_code=reason_code,
            reason_text=reason_text,
            actor=actor,
            now=now,
            action="collections.escalation.lowered",
        )
    audit_services.record(
        actor=actor,
        action="collections.agency_placement.recalled",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={"placement": (None, placement.pk), "state": ("placed", "recalled")},
        reason=placement.recall_reason,
        now=now,
    )
    return placement


# --- reads ----------------------------------------------------------------------------------------


def placement_list(*, entity_ids: list[int]) -> list[AgencyPlacement]:
    return list(
        AgencyPlacement.objects.filter(entity_id__in=entity_ids)
        .select_related("customer", "agency", "placed_by", "recalled_by")
        .order_by("pk")
    )


@dataclass(frozen=True)
class PlacementFigures:
    """Per currency: what was placed (open at placement), what is still open of it, and the cash
    applied to its items from the placement day (through the recall day for a recalled one)."""

    placed_minor: dict[str, int]
    open_minor: dict[str, int]
    collected_minor: dict[str, int]


def placement_figures(*, placement_ids: list[int]) -> dict[int, PlacementFigures]:
    """Two grouped queries for any number of placements; the collected cash is read from the payment
    allocations (reversals negative) on the placed items, nothing is booked for it."""
    placed: dict[int, dict[str, int]] = {}
    still_open: dict[int, dict[str, int]] = {}
    collected: dict[int, dict[str, int]] = {}
    for placement_id, currency, placed_minor, open_minor in (
        PlacedItem.objects.filter(placement_id__in=placement_ids)
        .values_list("placement_id", "currency")
        .annotate(placed=Sum("open_minor"), open=Sum("document__open_minor"))
        .order_by()
    ):
        placed.setdefault(placement_id, {})[currency] = int(placed_minor)
        still_open.setdefault(placement_id, {})[currency] = int(open_minor)
    window = Q(document__allocations__posting_date__gte=F("placement__placed_on")) & (
        Q(placement__recalled_on__isnull=True)
        | Q(document__allocations__posting_date__lte=F("placement__recalled_on"))
    )
    for placement_id, currency, total in (
        PlacedItem.objects.filter(
            placement_id__in=placement_ids, document__allocations__kind=Allocation.Kind.PAYMENT
        )
        .filter(window)
        .values_list("placement_id", "currency")
        .annotate(total=Sum("document__allocations__amount_minor"))
        .order_by()
    ):
        collected.setdefault(placement_id, {})[currency] = int(total)
    return {
        placement_id: PlacementFigures(
            placed.get(placement_id, {}), still_open.get(placement_id, {}), collected.get(placement_id, {})
        )
        for placement_id in placement_ids
    }


# --- the export for the agency ---------------------------------------------------------------------

EXPORT_COLUMNS = (
    "placement_id",
    "placed_on",
    "agency_code",
    "customer_number",
    "customer_name",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "country",
    "vat_id",
    "contact_name",
    "email",
    "phone",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "original_amount",
    "open_amount",
    "days_overdue",
    "last_dunning_level",
    "last_dunning_date",
    "disputed",
    "placement_reason",
    "placement_reason_text",
)


def _address_lines(address: str) -> tuple[str, str, str]:
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    lines += ["", "", ""]
    return lines[0], lines[1], ", ".join(line for line in lines[2:] if line)


def export_rows(
    *, agency: CollectionAgency, as_of: date, placed_from: date | None = None, placed_to: date | None = None
) -> list[dict[str, str]]:
    """One row per item of the agency's running placements (placed from `placed_from` through
    `placed_to`) that is still open, by placement and due date: the customer's master data and contact,
    the item and its amounts (open today), its days overdue as of `as_of`, the level and day of the last
    notice it was on, whether it is disputed, and the placement's reason. Amounts are plain decimals with
    a dot."""
    items = PlacedItem.objects.filter(
        placement__agency=agency,
        placement__state=AgencyPlacement.State.PLACED,
        is_placed=True,
        document__open_minor__gt=0,
    ).select_related("placement__customer", "document")
    if placed_from is not None:
        items = items.filter(placement__placed_on__gte=placed_from)
    if placed_to is not None:
        items = items.filter(placement__placed_on__lte=placed_to)
    found = list(items.order_by("placement_id", "document__due_date", "document__number"))
    customer_ids = {item.placement.customer_id for item in found}
    contacts: dict[int, Contact] = {}
    for found_contact in Contact.objects.filter(customer_id__in=customer_ids).order_by("-is_billing", "pk"):
        contacts.setdefault(found_contact.customer_id, found_contact)
    last: dict[int, tuple[date, int]] = {}
    for document_id, day, level in (
        DunningNoticeItem.objects.filter(document_id__in=[item.document_id for item in found], level__gt=0)
        .order_by("notice__as_of", "pk")
        .values_list("document_id", "notice__as_of", "level")
    ):
        last[document_id] = (day, level)
    rows = []
    for item in found:
        placement, customer, document = item.placement, item.placement.customer, item.document
        contact = contacts.get(customer.pk)
        line_1, line_2, line_3 = _address_lines(customer.address)
        dunned = last.get(document.pk)
        rows.append(
            {
                "placement_id": str(placement.pk),
                "placed_on": placement.placed_on.isoformat(),
                "agency_code": agency.code,
                "customer_number": customer.number,
                "customer_name": customer.name,
                "address_line_1": line_1,
                "address_line_2": line_2,
                "address_line_3": line_3,
                "country": customer.country,
                "vat_id": customer.vat_id,
                "contact_name": contact.name if contact else "",
                "email": (contact.email if contact and contact.email else customer.email),
                "phone": contact.phone if contact else "",
                "invoice_number": document.number or "",
                "issue_date": document.issue_date.isoformat(),
                "due_date": document.due_date.isoformat(),
                "currency": document.currency,
                "original_amount": format_minor(document.total_minor, document.currency),
                "open_amount": format_minor(document.open_minor, document.currency),
                "days_overdue": str((as_of - document.due_date).days),
                "last_dunning_level": str(dunned[1]) if dunned else "",
                "last_dunning_date": dunned[0].isoformat() if dunned else "",
                "disputed": "yes" if document.is_disputed else "no",
                "placement_reason": placement.reason_code,
                "placement_reason_text": placement.reason_text,
            }
        )
    return rows


def export_csv(rows: list[dict[str, str]]) -> str:
    """The rows as CSV text: a header row, comma-separated, quoted where needed, lines ending in LF."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
