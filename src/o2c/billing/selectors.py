"""Reads of the billing data: the tax a line carries, subscriptions and runs for the screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import translation

from o2c.billing import tax, taxdata
from o2c.billing.models import Subscription, TaxExemption, TaxRate
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity, TaxRegistration


@dataclass(frozen=True)
class LineTax:
    rate: Decimal
    category_code: str
    note: str


class TaxResolver:
    """Decides the tax of invoice lines for one seller entity. Reads the rate table, the seller's
    registrations and the exemption certificates once, then answers from memory (a run asks per line)."""

    def __init__(self, entity: LegalEntity) -> None:
        registrations = set()
        for country, scheme in TaxRegistration.objects.filter(entity=entity).values_list("country", "scheme"):
            registrations.add(country if scheme == "vat" else f"{country}-{scheme}")
        if not registrations:
            registrations.add(entity.country)
        self.seller = tax.Seller(country=entity.country, registrations=frozenset(registrations))
        self.rates = tuple(
            tax.RateRow(
                country=r.country,
                region=r.region,
                category=r.category,
                rate=r.rate,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in TaxRate.objects.all()
        )
        self.rules = taxdata.RULES
        self._exemptions: dict[int, list[TaxExemption]] = {}
        self._decided: dict[tuple[object, ...], LineTax] = {}

    def _certificate(self, customer: Customer, on: date) -> str:
        if customer.pk not in self._exemptions:
            self._exemptions[customer.pk] = list(TaxExemption.objects.filter(customer=customer))
        for exemption in self._exemptions[customer.pk]:
            if (
                exemption.region == customer.region
                and exemption.valid_from <= on
                and (exemption.valid_to is None or on <= exemption.valid_to)
            ):
                return exemption.certificate
        return ""

    def __call__(self, *, customer: Customer, tax_category: str, on: date) -> LineTax:
        certificate = self._certificate(customer, on) if customer.country == "US" else ""
        key = (
            customer.country,
            customer.region,
            bool(customer.vat_id),
            certificate,
            tax_category,
            on,
            customer.language,
        )
        if key not in self._decided:
            decision = tax.determine_tax(
                seller=self.seller,
                buyer=tax.Buyer(
                    country=customer.country,
                    region=customer.region,
                    vat_id=customer.vat_id,
                    vat_id_valid=bool(customer.vat_id),  # stored VAT ids were validated on save
                    exemption_certificate=certificate,
                ),
                product_category=tax_category,
                on=on,
                rates=self.rates,
                rules=self.rules,
                zones=taxdata.EU_MEMBERSHIP,
            )
            with translation.override(customer.language):  # the note is printed in the customer's language
                note = tax.note_text(decision)
            self._decided[key] = LineTax(decision.rate, decision.category_code, note)
        return self._decided[key]


def subscription_list(*, entity_ids: list[int], search: str = "") -> QuerySet[Subscription]:
    subscriptions = Subscription.objects.filter(entity_id__in=entity_ids).select_related(
        "customer", "bill_to"
    )
    if search.strip():
        term = search.strip()
        subscriptions = subscriptions.filter(
            Q(number__istartswith=term)
            | Q(customer__number__istartswith=term)
            | Q(po_number__istartswith=term)
        )
    return subscriptions.order_by("number")
