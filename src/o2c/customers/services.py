"""Customer master data use cases. Every change is audited with who, when, old and new value, why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from o2c.audit import services as audit_services
from o2c.audit.models import AuditEvent
from o2c.core.money import Money, format_with_currency, parse_amount
from o2c.customers import rules
from o2c.customers.errors import UnableToSaveCustomer
from o2c.customers.models import BankAccount, Contact, Customer
from o2c.ledger.models import LegalEntity

MASTER_FIELDS = (
    "name",
    "country",
    "currency",
    "language",
    "payment_terms",
    "email",
    "vat_id",
    "status",
    "crm_id",
    "erp_id",
    "address",
    "region",
    "customer_type",
)


_STATUSES = frozenset(Customer.Status.values)


@dataclass(frozen=True)
class CustomerIn:
    number: str
    name: str
    country: str
    currency: str
    language: str = "en"
    payment_terms: str = "NET30"
    email: str = ""
    vat_id: str = ""
    parent_number: str = ""
    credit_limit: Decimal | None = None
    status: str = Customer.Status.ACTIVE
    crm_id: str = ""
    erp_id: str = ""
    address: str = ""
    region: str = ""
    customer_type: str = ""


def normalized(data: CustomerIn) -> CustomerIn:
    """The same data in canonical form, or UnableToSaveCustomer naming the bad field."""
    if not data.number.strip():
        raise UnableToSaveCustomer("customer_number is empty", code="missing_number")
    if not data.name.strip():
        raise UnableToSaveCustomer("name is empty", code="missing_name")
    if data.status not in _STATUSES:
        raise UnableToSaveCustomer(f"'{data.status}' is not a customer status", code="bad_status")
    country = rules.normalize_country(data.country)
    currency = rules.normalize_currency(data.currency)
    credit_limit = data.credit_limit
    if credit_limit is not None:
        if credit_limit < 0:
            raise UnableToSaveCustomer("credit_limit is negative", code="bad_credit_limit")
        parse_amount(str(credit_limit), currency)
    return CustomerIn(
        number=data.number.strip(),
        name=data.name.strip(),
        country=country,
        currency=currency,
        language=rules.normalize_language(data.language or "en"),
        payment_terms=rules.normalize_terms(data.payment_terms or "NET30"),
        email=data.email.strip(),
        vat_id=rules.normalize_vat_id(data.vat_id, country),
        parent_number=data.parent_number.strip(),
        credit_limit=credit_limit,
        status=data.status,
        crm_id=data.crm_id.strip(),
        erp_id=data.erp_id.strip(),
        address=data.address.strip(),
        region=data.region.strip().upper(),
        customer_type=rules.normalize_customer_type(data.customer_type),
    )


def _credit_limit_minor(data: CustomerIn) -> int | None:
    return None if data.credit_limit is None else Money(data.credit_limit, data.currency).to_minor()


def _snapshot(customer: Customer) -> dict[str, Any]:
    values = {name: getattr(customer, name) for name in MASTER_FIELDS}
    values["parent"] = customer.parent.number if customer.parent_id and customer.parent else ""
    values["credit_limit"] = format_with_currency(customer.credit_limit_minor, customer.currency)
    return values


@transaction.atomic
def customer_create(
    *, entity: LegalEntity, data: CustomerIn, actor: User | None, now: datetime, reason: str = ""
) -> Customer:
    data = normalized(data)
    if Customer.objects.filter(entity=entity, number=data.number).exists():
        raise UnableToSaveCustomer(f"customer {data.number} exists already", code="duplicate_number")
    parent = _parent(entity, data)
    customer = Customer.objects.create(
        entity=entity,
        number=data.number,
        parent=parent,
        credit_limit_minor=_credit_limit_minor(data),
        created_at=now,
        updated_at=now,
        **{name: getattr(data, name) for name in MASTER_FIELDS},
    )
    audit_services.record(
        actor=actor,
        action="customers.customer.created",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=entity.pk,
        changes=audit_services.diff({}, _snapshot(customer)),
        reason=reason,
        now=now,
    )
    return customer


def _parent(entity: LegalEntity, data: CustomerIn, customer: Customer | None = None) -> Customer | None:
    if not data.parent_number:
        return None
    parent = Customer.objects.filter(entity=entity, number=data.parent_number).first()
    if parent is None:
        raise UnableToSaveCustomer(
            f"parent customer {data.parent_number} does not exist", code="unknown_parent"
        )
    ancestor: Customer | None = parent
    while ancestor is not None:
        if customer is not None and ancestor.pk == customer.pk:
            raise UnableToSaveCustomer(
                f"customer {data.number} cannot be its own ancestor", code="parent_cycle"
            )
        ancestor = ancestor.parent
    return parent


@transaction.atomic
def customer_update(
    *, customer_id: int, data: CustomerIn, actor: User | None, now: datetime, reason: str = ""
) -> Customer:
    customer = Customer.objects.select_for_update(of=("self",)).select_related("parent").get(pk=customer_id)
    data = normalized(data)
    if data.number != customer.number:
        raise UnableToSaveCustomer("a customer number never changes", code="number_changed")
    before = _snapshot(customer)
    customer.parent = _parent(customer.entity, data, customer)
    for name in MASTER_FIELDS:
        setattr(customer, name, getattr(data, name))
    customer.credit_limit_minor = _credit_limit_minor(data)
    changes = audit_services.diff(before, _snapshot(customer))
    if not changes:
        return customer
    customer.updated_at = now
    customer.save()
    audit_services.record(
        actor=actor,
        action="customers.customer.changed",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes=changes,
        reason=reason,
        now=now,
    )
    return customer


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


@transaction.atomic
def customers_import(
    *,
    entity: LegalEntity,
    rows: Sequence[CustomerIn],
    actor: User | None,
    now: datetime,
    source: str,
    kept_fields: frozenset[str] = frozenset(),
) -> ImportResult:
    """Create new customers and update changed ones, parents before children, in one transaction.

    Rows must already be normalized (the importer reports bad rows with their row number).
    A credit limit loaded here takes effect at once and is audited as migrated. `kept_fields` are master
    fields the file does not carry: an existing customer keeps its values of them.
    """
    existing = {c.number: c for c in Customer.objects.filter(entity=entity).select_related("parent")}
    by_number = {row.number: row for row in rows}
    created = updated = unchanged = 0
    # parents first, whatever the order of the file; an unknown parent is refused
    ordered: list[CustomerIn] = []
    placed: set[str] = set()

    def place(row: CustomerIn, trail: tuple[str, ...] = ()) -> None:
        if row.number in placed:
            return
        if row.number in trail:
            raise UnableToSaveCustomer(f"customer {row.number} is its own ancestor", code="parent_cycle")
        if row.parent_number and row.parent_number in by_number:
            place(by_number[row.parent_number], (*trail, row.number))
        elif row.parent_number and row.parent_number not in existing:
            raise UnableToSaveCustomer(
                f"parent customer {row.parent_number} of {row.number} does not exist", code="unknown_parent"
            )
        placed.add(row.number)
        ordered.append(row)

    for row in rows:
        place(row)

    depth: dict[str, int] = {}
    for row in ordered:  # parents come first, so their depth is known
        depth[row.number] = depth[row.parent_number] + 1 if row.parent_number in depth else 0
    events: list[AuditEvent] = []
    for level in sorted(set(depth.values())):
        new: list[Customer] = []
        changed: list[tuple[Customer, dict[str, Any]]] = []
        for row in (r for r in ordered if depth[r.number] == level):
            parent = existing[row.parent_number] if row.parent_number else None
            values = {name: getattr(row, name) for name in MASTER_FIELDS}
            current = existing.get(row.number)
            if current is None:
                new.append(
                    Customer(
                        entity=entity,
                        number=row.number,
                        parent=parent,
                        credit_limit_minor=_credit_limit_minor(row),
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )
                continue
            before = _snapshot(current)
            for name, value in values.items():
                if name not in kept_fields:
                    setattr(current, name, value)
            current.parent = parent
            current.credit_limit_minor = _credit_limit_minor(row)
            if _snapshot(current) == before:
                unchanged += 1
                continue
            current.updated_at = now
            changed.append((current, before))
        for customer in Customer.objects.bulk_create(new, batch_size=2000):
            existing[customer.number] = customer
            events.append(_import_event(customer, "customers.customer.created", {}, actor, now, source))
        Customer.objects.bulk_update(
            [customer for customer, _ in changed],
            [*MASTER_FIELDS, "parent", "credit_limit_minor", "updated_at"],
            batch_size=2000,
        )
        events += [
            _import_event(customer, "customers.customer.changed", before, actor, now, source)
            for customer, before in changed
        ]
        created += len(new)
        updated += len(changed)
    audit_services.record_many(events)
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def _import_event(
    customer: Customer,
    action: str,
    before: dict[str, Any],
    actor: User | None,
    now: datetime,
    source: str,
) -> AuditEvent:
    changes = audit_services.diff(before, _snapshot(customer))
    reason = f"imported from {source}"
    if "credit_limit" in changes:
        reason += "; credit limit migrated"
    return audit_services.event(
        actor=actor,
        action=action,
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes=changes,
        reason=reason,
        now=now,
    )


@transaction.atomic
def contact_add(
    *,
    customer_id: int,
    name: str,
    email: str,
    phone: str,
    role: str,
    is_billing: bool,
    actor: User | None,
    now: datetime,
) -> Contact:
    customer = Customer.objects.get(pk=customer_id)
    contact = Contact.objects.create(
        customer=customer,
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        role=role.strip(),
        is_billing=is_billing,
    )
    audit_services.record(
        actor=actor,
        action="customers.contact.added",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={"contact": (None, f"{contact.name} <{contact.email}>")},
        now=now,
    )
    return contact


@transaction.atomic
def bank_account_add(
    *, customer_id: int, iban: str, bic: str, holder: str, actor: User | None, now: datetime
) -> BankAccount:
    customer = Customer.objects.get(pk=customer_id)
    compact = rules.normalize_iban(iban)
    if customer.bank_accounts.filter(iban=compact).exists():
        raise UnableToSaveCustomer(f"IBAN {compact} is already on file", code="duplicate_iban")
    account = BankAccount.objects.create(
        customer=customer, iban=compact, bic=rules.normalize_bic(bic), holder=holder.strip()
    )
    audit_services.record(
        actor=actor,
        action="customers.bank_account.added",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={"iban": (None, compact)},
        now=now,
    )
    return account


@transaction.atomic
def customers_assign_collector(
    *, customer_ids: Sequence[int], collector: User | None, actor: User | None, now: datetime, reason: str
) -> int:
    """Put customers into a collector's portfolio (or out of any, with None); audited per customer."""
    customers = list(
        Customer.objects.select_for_update(of=("self",))
        .select_related("collector")
        .filter(pk__in=customer_ids)
    )
    new_label = collector.get_username() if collector is not None else None
    moved = [c for c in customers if c.collector_id != (collector.pk if collector is not None else None)]
    Customer.objects.filter(pk__in=[c.pk for c in moved]).update(collector=collector, updated_at=now)
    audit_services.record_many(
        [
            audit_services.event(
                actor=actor,
                action="customers.customer.changed",
                object_type="customer",
                object_id=c.pk,
                object_label=str(c),
                entity_id=c.entity_id,
                changes={"collector": (c.collector.get_username() if c.collector else None, new_label)},
                reason=reason,
                now=now,
            )
            for c in moved
        ]
    )
    return len(moved)
