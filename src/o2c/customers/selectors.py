from dataclasses import dataclass

from django.db.models import Q, QuerySet

from o2c.customers.models import BankAccount, Customer


def customer_list(*, entity_ids: list[int], search: str = "", status: str = "") -> QuerySet[Customer]:
    """Customers of the granted entities, searched by number, name, VAT id or e-mail."""
    customers = Customer.objects.filter(entity_id__in=entity_ids).select_related("entity")
    term = search.strip()
    if term:
        customers = customers.filter(
            Q(number__istartswith=term)
            | Q(name__icontains=term)
            | Q(vat_id__istartswith=term)
            | Q(email__istartswith=term)
        )
    if status:
        customers = customers.filter(status=status)
    return customers.order_by("name", "pk")


def customer_get(*, entity_ids: list[int], customer_id: int) -> Customer:
    return (
        Customer.objects.select_related("entity", "parent", "collector")
        .prefetch_related("contacts", "bank_accounts", "children")
        .get(entity_id__in=entity_ids, pk=customer_id)
    )


def customer_by_number(*, entity_id: int, number: str) -> Customer | None:
    return Customer.objects.filter(entity_id=entity_id, number=number).first()


def owners_of_ibans(*, entity_id: int, ibans: set[str]) -> dict[str, set[int]]:
    """The customers each IBAN is registered to (customer master data), compact upper-case IBAN keys."""
    owners: dict[str, set[int]] = {}
    if not ibans:
        return owners
    for iban, customer_id in BankAccount.objects.filter(
        customer__entity_id=entity_id, iban__any=frozenset(ibans)
    ).values_list("iban", "customer_id"):
        owners.setdefault(iban, set()).add(customer_id)
    return owners


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    id: int
    number: str
    name: str
    parent_id: int | None
    currency: str


def customer_facts(*, customer_ids: set[int]) -> dict[int, CustomerFacts]:
    return {
        row[0]: CustomerFacts(*row)
        for row in Customer.objects.filter(pk__any=frozenset(customer_ids)).values_list(
            "pk", "number", "name", "parent_id", "currency"
        )
    }


def children_of(*, customer_ids: set[int]) -> dict[int, set[int]]:
    """Each parent's direct subsidiaries."""
    children: dict[int, set[int]] = {}
    for pk, parent_id in Customer.objects.filter(parent_id__any=frozenset(customer_ids)).values_list(
        "pk", "parent_id"
    ):
        children.setdefault(parent_id, set()).add(pk)
    return children


def collectors_of(*, entity_id: int) -> dict[int, int | None]:
    """Each customer of the entity with its collector (None: no collector)."""
    return dict(Customer.objects.filter(entity_id=entity_id).values_list("pk", "collector_id"))


def portfolio_of(*, entity_id: int, collector_id: int) -> set[int]:
    """The ids of the entity's customers assigned to the collector."""
    return set(
        Customer.objects.filter(entity_id=entity_id, collector_id=collector_id).values_list("pk", flat=True)
    )


def collectors_in(*, entity_id: int) -> list[tuple[int, str]]:
    """(id, user name) of the users who collect for customers of the entity, by user name."""
    return list(
        Customer.objects.filter(entity_id=entity_id, collector__isnull=False)
        .values_list("collector_id", "collector__username")
        .distinct()
        .order_by("collector__username")
    )


def customers_named_since(*, entity_id: int) -> QuerySet[Customer]:
    """Every customer of the entity, for the matcher's name index (number and name only)."""
    return Customer.objects.filter(entity_id=entity_id).only("pk", "number", "name")


def countries_of(*, customer_ids: set[int]) -> dict[int, str]:
    """Each customer's country (ISO 3166 alpha-2, empty when unknown)."""
    return dict(Customer.objects.filter(pk__any=frozenset(customer_ids)).values_list("pk", "country"))
