"""The customers API (`/api/customers`), and what every app's router shares: the caller, the role
check and cursor pagination.

Authentication lives in `o2c.config.api`, above every app: it puts a `Caller` on `request.auth`.
Apps below it cannot import the roles of `o2c.workspace`, so an endpoint names the capability it needs
(`VIEW_RECEIVABLES`, `EDIT_CUSTOMERS`, `ISSUE_DOCUMENTS`) and the caller answers whether its roles
grant it. Data is limited to the legal entities granted to the caller; another entity's customer is
404, as if it did not exist.
"""

from __future__ import annotations

import binascii
from base64 import urlsafe_b64decode, urlsafe_b64encode
from typing import Any, Protocol, TypeVar

from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import AuthorizationError

from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.core.money import Money
from o2c.customers import schemas, selectors, services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity

VIEW_RECEIVABLES = "view_receivables"
EDIT_CUSTOMERS = "edit_customers"
ISSUE_DOCUMENTS = "issue_documents"
CAPABILITIES = (VIEW_RECEIVABLES, EDIT_CUSTOMERS, ISSUE_DOCUMENTS)


class Caller(Protocol):
    """Who calls the API: what `o2c.config.api`'s authentication puts on `request.auth`."""

    @property
    def user(self) -> User: ...

    def may(self, capability: str) -> bool: ...


def caller(request: HttpRequest, capability: str) -> Caller:
    """The authenticated caller, or 403 when its roles do not grant the capability."""
    found: Caller = request.auth  # type: ignore[attr-defined]
    if not found.may(capability):
        raise AuthorizationError(message=f"your roles do not allow you to {capability.replace('_', ' ')}")
    return found


def entity_ids(who: Caller) -> list[int]:
    return ledger_selectors.entity_ids_for_user(who.user)


# --- cursor pagination ---------------------------------------------------------------------------
# The cursor is the primary key of the last item of the page, opaque to clients (base64url). Ordering
# by primary key keeps it stable while rows are added: every row is seen exactly once.

M = TypeVar("M", bound=Model)


def cursor_encode(pk: int) -> str:
    return urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    try:
        text = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "pk" or not value.isdigit():
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InputError(f"'{cursor}' is not a cursor of this list", code="bad_cursor") from None


def paginate(
    queryset: QuerySet[M], *, cursor: str | None, limit: int, newest_first: bool = False
) -> tuple[list[M], str | None]:
    """One page of `limit` items after the cursor, ordered by pk, and the cursor of the next page
    (None on the last page)."""
    ordered = queryset.order_by("-pk" if newest_first else "pk")
    if cursor:
        after = cursor_decode(cursor)
        ordered = ordered.filter(pk__lt=after) if newest_first else ordered.filter(pk__gt=after)
    rows = list(ordered[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_encode(rows[-1].pk)


# --- endpoints -------------------------------------------------------------------------------------

router = Router(tags=["customers"])


@router.get("", response=schemas.CustomerPage, summary="List customers")
def customer_list(request: HttpRequest, filters: Query[schemas.CustomerFilter]) -> schemas.CustomerPage:
    who = caller(request, VIEW_RECEIVABLES)
    customers = selectors.customer_list(
        entity_ids=entity_ids(who), search=filters.search, status=filters.status or ""
    ).select_related("parent")
    if filters.entity:
        customers = customers.filter(entity__code=filters.entity)
    rows, next_cursor = paginate(customers, cursor=filters.cursor, limit=filters.limit)
    return schemas.CustomerPage(items=[schemas.CustomerOut.of(c) for c in rows], next_cursor=next_cursor)


@router.get("/{int:customer_id}", response=schemas.CustomerOut, summary="Get a customer")
def customer_get(request: HttpRequest, customer_id: int) -> schemas.CustomerOut:
    who = caller(request, VIEW_RECEIVABLES)
    return schemas.CustomerOut.of(selectors.customer_get(entity_ids=entity_ids(who), customer_id=customer_id))


@router.post("", response={201: schemas.CustomerOut}, summary="Create a customer")
def customer_create(request: HttpRequest, payload: schemas.CustomerIn) -> Status[schemas.CustomerOut]:
    who = caller(request, EDIT_CUSTOMERS)
    customer = services.customer_create(
        entity=entity_for_write(who, payload.entity),
        data=services.CustomerIn(
            number=payload.number,
            name=payload.name,
            country=payload.country,
            currency=payload.currency,
            language=payload.language,
            payment_terms=payload.payment_terms,
            email=payload.email,
            vat_id=payload.vat_id,
            parent_number=payload.parent_number,
            credit_limit=None if payload.credit_limit is None else schemas.decimal_of(payload.credit_limit),
            customer_type=payload.customer_type,
        ),
        actor=who.user,
        now=clock.now(),
        reason="created through the API",
    )
    return Status(201, schemas.CustomerOut.of(customer))


@router.patch("/{int:customer_id}", response=schemas.CustomerOut, summary="Change a customer")
def customer_update(
    request: HttpRequest, customer_id: int, payload: schemas.CustomerPatch
) -> schemas.CustomerOut:
    who = caller(request, EDIT_CUSTOMERS)
    current = selectors.customer_get(entity_ids=entity_ids(who), customer_id=customer_id)
    changes: dict[str, Any] = payload.model_dump(exclude_unset=True, exclude={"reason"})
    if "credit_limit" in changes and changes["credit_limit"] is not None:
        changes["credit_limit"] = schemas.decimal_of(changes["credit_limit"])
    if changes.get("status") is not None:
        changes["status"] = str(changes["status"])
    customer = services.customer_update(
        customer_id=current.pk,
        data=services.CustomerIn(**{**_current_values(current), **_without_nulls(changes)}),
        actor=who.user,
        now=clock.now(),
        reason=payload.reason or "changed through the API",
    )
    return schemas.CustomerOut.of(
        selectors.customer_get(entity_ids=[customer.entity_id], customer_id=customer.pk)
    )


def _without_nulls(changes: dict[str, Any]) -> dict[str, Any]:
    """A null clears what may be empty (credit limit, e-mail, VAT id, parent, type); refused elsewhere."""
    clearable = {"credit_limit": None, "email": "", "vat_id": "", "parent_number": "", "customer_type": ""}
    result: dict[str, Any] = {}
    for key, value in changes.items():
        if value is not None:
            result[key] = value
        elif key in clearable:
            result[key] = clearable[key]
        else:
            raise InputError(f"{key} cannot be null", code="validation_error")
    return result


def _current_values(customer: Customer) -> dict[str, Any]:
    limit = customer.credit_limit_minor
    return {
        "number": customer.number,
        "name": customer.name,
        "country": customer.country,
        "currency": customer.currency,
        "language": customer.language,
        "payment_terms": customer.payment_terms,
        "email": customer.email,
        "vat_id": customer.vat_id,
        "parent_number": customer.parent.number if customer.parent is not None else "",
        "credit_limit": None if limit is None else Money.from_minor(limit, customer.currency).amount,
        "status": customer.status,
        "crm_id": customer.crm_id,
        "erp_id": customer.erp_id,
        "address": customer.address,
        "region": customer.region,
        "customer_type": customer.customer_type,
    }


def entity_for_write(who: Caller, code: str | None) -> LegalEntity:
    """The granted entity named by its code, else the caller's default entity (the installation's default if
    granted, else the only one granted)."""
    granted = list(ledger_selectors.entities_for_user(who.user))
    if code:
        for entity in granted:
            if entity.code == code:
                return entity
        raise InputError(f"no legal entity '{code}'", code="unknown_entity")
    if not granted:
        raise AuthorizationError(message="no legal entity is granted to you")
    defaults = [entity for entity in granted if entity.is_default]
    if defaults:
        return defaults[0]
    if len(granted) == 1:
        return granted[0]
    raise InputError("you have several legal entities: name one in `entity`", code="entity_required")
