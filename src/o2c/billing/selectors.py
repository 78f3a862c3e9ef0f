"""Reads of the billing data: the tax a line carries, subscriptions and runs for the screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import translation

from o2c.audit.models import AuditEvent
from o2c.billing import rating, tax, taxdata
from o2c.billing.models import InvoiceProfile, Price, Product, Subscription, TaxExemption, TaxRate
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


# --- subscription changes, seller details and exemption certificates, for the screens ----------------


def products_for_amendment(*, subscription: Subscription, product_code: str) -> list[Product]:
    """The products a subscription may move to from `product_code` (an upgrade or downgrade): those of
    its entity on the same billing schedule (period, timing, metric) with a price in its currency."""
    current = Product.objects.get(entity_id=subscription.entity_id, code=product_code)
    return list(
        Product.objects.filter(
            entity_id=subscription.entity_id,
            billing_period=current.billing_period,
            timing=current.timing,
            metric=current.metric,
            prices__currency=subscription.currency,
        ).order_by("code")
    )


def term_period_price_minor(
    *, entity_id: int, product_code: str, currency: str, quantity: Decimal, discount_percent: Decimal
) -> int | None:
    """A full billing period's price of a term (price model, minimum, percentage discount), in minor
    units; None for a metered product (its price follows the usage) or one that cannot be rated."""
    price = (
        Price.objects.filter(product__entity_id=entity_id, product__code=product_code, currency=currency)
        .select_related("product")
        .first()
    )
    if price is None or price.product.metric:
        return None
    try:
        definition = rating.PriceDefinition(
            price_model=price.price_model,
            currency=price.currency,
            unit_price=price.unit_price,
            tiers=rating.parse_tiers(price.tiers) if price.tiers else (),
            minimum_minor=price.minimum_minor,
        )
        return rating.period_price_minor(definition, quantity, discount_percent=discount_percent)
    except rating.UnableToRate:
        return None


def invoice_profile_get(*, entity_id: int) -> InvoiceProfile | None:
    return InvoiceProfile.objects.filter(entity_id=entity_id).first()


def tax_registration_list(*, entity_id: int) -> QuerySet[TaxRegistration]:
    return TaxRegistration.objects.filter(entity_id=entity_id).order_by("country", "scheme")


def tax_exemption_list(*, customer_id: int) -> QuerySet[TaxExemption]:
    """A customer's exemption certificates, by state and date; revoked ones end before they start."""
    return TaxExemption.objects.filter(customer_id=customer_id).order_by("region", "valid_from", "pk")


def tax_exemption_history(*, customer_id: int) -> QuerySet[AuditEvent]:
    """The audit events of a customer's exemption certificates, newest first."""
    ids = TaxExemption.objects.filter(customer_id=customer_id).values("pk")
    return AuditEvent.objects.filter(object_type="tax_exemption", object_id__in=ids).order_by("-at", "-pk")


def seller_history(*, entity_id: int) -> QuerySet[AuditEvent]:
    """The audit events of an entity's invoice profile and tax registrations, newest first."""
    return AuditEvent.objects.filter(
        entity_id=entity_id, object_type__in=("invoice_profile", "tax_registration")
    ).order_by("-at", "-pk")
