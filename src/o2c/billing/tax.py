"""Tax determination: the rate, UNCL5305 category, jurisdiction and legal note of an invoice line.

Pure: no models, no database, no clock. What the law says lives in data (`RuleRow`, `RateRow` and
`ZoneMember` rows; the defaults are in `taxdata`), so a rate change or a new rule is a new row, not a
new branch here. A decision is made in three steps:

1. Facts from the seller, the buyer and the date: each party's zone on the date ("EU" for a member
   state, the country code otherwise: GB is "EU" until 2020-12-31 and "GB" after), the relation
   ("domestic" for the same country, else "cross_border"), the buyer's kind ("business" with a valid
   VAT id, else "consumer"), the buyer's jurisdiction ("FR", "US-CA"), whether the seller is registered
   there, and whether the buyer holds an exemption certificate.
2. Every rule whose conditions all hold matches ("*" and None match anything). The highest priority
   wins; two matches at that priority are a data error, so the rules decide each case exactly one way.
3. The winning rule says where the supply is taxed (`place`: the seller's or the buyer's jurisdiction),
   whether the rate comes from the rate table (for that jurisdiction, the product's tax category and
   the date) or is 0 %, the category code and the legal note.

Tax amounts are not computed here: `receivables.calculations.document_totals` sums the line nets per
rate and rounds the tax of each rate once per invoice. A credit memo does not determine tax again: it
reverses the invoice's lines at the invoice's decisions (`reversal`), so a rate change between the
invoice and the credit memo cannot leave tax behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from string import Formatter

from django.utils.translation import gettext

from o2c.core.exceptions import DomainError

ANY = "*"
RELATIONS = frozenset({"domestic", "cross_border"})
BUYER_KINDS = frozenset({"business", "consumer"})
PLACES = frozenset({"seller", "buyer"})
# UNCL5305 as EN 16931 uses it: S standard, Z zero rated, E exempt, AE reverse charge,
# K intra-community supply (goods), G export outside the EU, O not subject to VAT.
CATEGORY_CODES = frozenset({"S", "Z", "E", "AE", "K", "G", "O"})
NOTE_PLACEHOLDERS = frozenset({"certificate", "jurisdiction", "vat_id"})


class UnableToDetermineTax(DomainError):
    """No rule or no rate decides a line's tax, or the tax data contradicts itself."""


@dataclass(frozen=True, slots=True)
class Seller:
    """A selling legal entity. `registrations` are jurisdictions as `tax_jurisdiction` spells them:
    "DE", "GB", "US-CA"."""

    country: str
    registrations: frozenset[str]


@dataclass(frozen=True, slots=True)
class Buyer:
    """The customer as the ship-to address and master data describe it on the invoice date.

    `region` is the ship-to state for countries taxed by region (the US: "CA", or "CA-LA" where a
    company keeps local rates), "" elsewhere. `vat_id_valid` and `exemption_certificate` are checked by
    the caller (python-stdnum for the VAT id; a certificate valid for the region on the date, or "").
    """

    country: str
    region: str = ""
    vat_id: str = ""
    vat_id_valid: bool = False
    exemption_certificate: str = ""


@dataclass(frozen=True, slots=True)
class ZoneMember:
    """A country belongs to a zone (the EU VAT area) from `valid_from` to `valid_to`, inclusive."""

    zone: str
    country: str
    valid_from: date
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class RateRow:
    """One row of the rate table: a percentage for a country (and region), category and date range."""

    country: str
    region: str
    category: str
    rate: Decimal
    valid_from: date
    valid_to: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleRow:
    """One row of the rule table: conditions (`*`/None match anything), then the outcome.

    `note` is an English msgid (marked with gettext_noop where it is written) and may name
    {certificate}, {jurisdiction} and {vat_id}; `note_text` translates and fills it.
    """

    name: str
    description: str
    priority: int
    seller_zone: str
    buyer_zone: str = ANY
    relation: str = ANY
    buyer_kind: str = ANY
    buyer_jurisdiction: str = ANY
    seller_registered: bool | None = None  # in the buyer's jurisdiction
    buyer_exempt: bool | None = None
    place: str
    uses_rate_table: bool
    category_code: str
    note: str = ""

    def __post_init__(self) -> None:
        # A typo in a rule would otherwise silently never match; refuse it when the row is built.
        problems = [
            f"relation '{self.relation}'" if self.relation not in RELATIONS | {ANY} else "",
            f"buyer_kind '{self.buyer_kind}'" if self.buyer_kind not in BUYER_KINDS | {ANY} else "",
            f"place '{self.place}'" if self.place not in PLACES else "",
            f"category_code '{self.category_code}'" if self.category_code not in CATEGORY_CODES else "",
            *(
                f"note placeholder '{{{name}}}'"
                for name in sorted(_placeholders(self.note) - NOTE_PLACEHOLDERS)
            ),
        ]
        if any(problems):
            wrong = ", ".join(problem for problem in problems if problem)
            raise UnableToDetermineTax(f"tax rule '{self.name}' has an unknown {wrong}", code="bad_tax_rule")

    def matches(self, facts: Facts) -> bool:
        return (
            self.seller_zone in (ANY, facts.seller_zone)
            and self.buyer_zone in (ANY, facts.buyer_zone)
            and self.relation in (ANY, facts.relation)
            and self.buyer_kind in (ANY, facts.buyer_kind)
            and self.buyer_jurisdiction in (ANY, facts.buyer_jurisdiction)
            and self.seller_registered in (None, facts.seller_registered)
            and self.buyer_exempt in (None, facts.buyer_exempt)
        )


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules are matched on, derived from the seller, the buyer and the date."""

    seller_country: str
    seller_zone: str
    buyer_zone: str
    relation: str
    buyer_kind: str
    buyer_jurisdiction: str
    seller_registered: bool
    buyer_exempt: bool


@dataclass(frozen=True, slots=True)
class TaxDecision:
    """The tax of a line. `note` is the msgid (English) of the legal note, "" when none; `note_params`
    fill its placeholders; `rule` names the deciding rule and `explanation` says why, for people."""

    rate: Decimal
    category_code: str
    jurisdiction: str
    note: str
    rule: str
    explanation: str
    note_params: tuple[tuple[str, str], ...] = ()


def tax_jurisdiction(country: str, region: str) -> str:
    """ "FR" for a country, "US-CA" for a region of one (the form seller registrations use)."""
    return f"{country}-{region}" if region else country


def registration_jurisdiction(country: str, region: str) -> str:
    """A registration covers a whole state: "US-CA" also covers a local rate region "CA-LA"."""
    return tax_jurisdiction(country, region.split("-")[0])


def zone_of(country: str, on: date, zones: Sequence[ZoneMember]) -> str:
    """The zone a country belongs to on a date, or the country itself when it belongs to none."""
    found = {row.zone for row in zones if row.country == country and _valid(row.valid_from, row.valid_to, on)}
    if len(found) > 1:
        raise UnableToDetermineTax(
            f"{country} belongs to several tax zones on {on.isoformat()}: {', '.join(sorted(found))}",
            code="ambiguous_tax_zone",
        )
    return found.pop() if found else country


def facts_of(*, seller: Seller, buyer: Buyer, on: date, zones: Sequence[ZoneMember]) -> Facts:
    return Facts(
        seller_country=seller.country,
        seller_zone=zone_of(seller.country, on, zones),
        buyer_zone=zone_of(buyer.country, on, zones),
        relation="domestic" if buyer.country == seller.country else "cross_border",
        buyer_kind="business" if buyer.vat_id.strip() and buyer.vat_id_valid else "consumer",
        buyer_jurisdiction=tax_jurisdiction(buyer.country, buyer.region),
        seller_registered=registration_jurisdiction(buyer.country, buyer.region) in seller.registrations,
        buyer_exempt=bool(buyer.exemption_certificate.strip()),
    )


def rule_for(facts: Facts, rules: Sequence[RuleRow]) -> RuleRow:
    """The one matching rule of the highest priority; none, or a tie, is refused."""
    matching = [rule for rule in rules if rule.matches(facts)]
    if not matching:
        raise UnableToDetermineTax(f"no tax rule applies to: {_describe(facts)}", code="no_tax_rule")
    top = max(rule.priority for rule in matching)
    winners = [rule for rule in matching if rule.priority == top]
    if len(winners) > 1:
        names = ", ".join(rule.name for rule in winners)
        raise UnableToDetermineTax(
            f"tax rules {names} all apply at priority {top} to: {_describe(facts)}", code="ambiguous_tax_rule"
        )
    return winners[0]


def rate_on(*, country: str, region: str, category: str, on: date, rates: Sequence[RateRow]) -> Decimal:
    """The rate valid on a date for exactly this country, region and category (no fallback: a missing
    local or reduced rate must not silently become another one)."""
    found = [
        row
        for row in rates
        if (row.country, row.region, row.category) == (country, region, category)
        and _valid(row.valid_from, row.valid_to, on)
    ]
    in_region = f", region {region}" if region else ""
    where = f"country {country}{in_region}, category '{category}', on {on.isoformat()}"
    if not found:
        raise UnableToDetermineTax(f"no tax rate for {where}", code="no_tax_rate")
    if len(found) > 1:
        raise UnableToDetermineTax(f"overlapping tax rates for {where}", code="ambiguous_tax_rate")
    return found[0].rate


def determine_tax(
    *,
    seller: Seller,
    buyer: Buyer,
    product_category: str,
    on: date,
    rates: Sequence[RateRow],
    rules: Sequence[RuleRow],
    zones: Sequence[ZoneMember],
) -> TaxDecision:
    """The tax of a line of `product_category` ("standard", "reduced", ...) sold on `on` (the tax
    point, usually the issue date)."""
    facts = facts_of(seller=seller, buyer=buyer, on=on, zones=zones)
    rule = rule_for(facts, rules)
    country, region = (seller.country, "") if rule.place == "seller" else (buyer.country, buyer.region)
    jurisdiction = tax_jurisdiction(country, region)
    rate = (
        rate_on(country=country, region=region, category=product_category, on=on, rates=rates)
        if rule.uses_rate_table
        else Decimal(0)
    )
    category_code = rule.category_code
    if category_code == "S" and rate == 0:
        # EN 16931 (BR-S-05, BR-Z-05): standard rated means above 0 %; a 0 % rate is zero rated.
        category_code = "Z"
    if category_code not in ("S", "Z") and rate != 0:
        raise UnableToDetermineTax(
            f"tax rule '{rule.name}' gives category {category_code}, which is 0 %, but the rate table "
            f"has {rate} % for {jurisdiction} '{product_category}' on {on.isoformat()}",
            code="inconsistent_tax_data",
        )
    values = {
        "certificate": buyer.exemption_certificate.strip(),
        "jurisdiction": jurisdiction,
        "vat_id": buyer.vat_id.strip(),
    }
    return TaxDecision(
        rate=rate,
        category_code=category_code,
        jurisdiction=jurisdiction,
        note=rule.note,
        rule=rule.name,
        explanation=(
            f"{rule.description} "
            f"({_describe(facts, vat_id=values['vat_id'], certificate=values['certificate'])})"
        ),
        note_params=tuple((name, values[name]) for name in sorted(_placeholders(rule.note))),
    )


def reversal(original: TaxDecision) -> TaxDecision:
    """The tax of a credit memo line: the original invoice line's decision, rate and note unchanged."""
    return replace(original, explanation=f"credit memo at the invoice's tax: {original.explanation}")


def note_text(decision: TaxDecision) -> str:
    """The legal note in the active language, placeholders filled; "" when there is none."""
    return gettext(decision.note).format_map(dict(decision.note_params)) if decision.note else ""


def _valid(valid_from: date, valid_to: date | None, on: date) -> bool:
    return valid_from <= on and (valid_to is None or on <= valid_to)


def _placeholders(note: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in Formatter().parse(note) if name is not None)


def _describe(facts: Facts, *, vat_id: str = "", certificate: str = "") -> str:
    """ "seller DE (EU), buyer FR (EU), cross-border, business with VAT id FR…, seller not registered
    in FR": the facts a person needs to check a decision."""

    def where(country: str, zone: str) -> str:
        return country if zone == country.split("-")[0] else f"{country} ({zone})"

    kind = f"business with VAT id {vat_id}" if facts.buyer_kind == "business" else "no valid VAT id"
    parts = [
        f"seller {where(facts.seller_country, facts.seller_zone)}",
        f"buyer {where(facts.buyer_jurisdiction, facts.buyer_zone)}",
        facts.relation.replace("_", "-"),
        kind,
        f"seller {'' if facts.seller_registered else 'not '}registered in {facts.buyer_jurisdiction}",
    ]
    if facts.buyer_exempt:
        parts.append(f"exemption certificate {certificate}" if certificate else "exemption certificate")
    return ", ".join(parts)
