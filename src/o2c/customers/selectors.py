from django.db.models import Q, QuerySet

from o2c.customers.models import Customer


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
