"""Seed data of the tax engine: EU membership, VAT and sales tax rates, and the default rules.

These become rows of the tax tables; `tax` reads them as plain values. Rates are percentages.

- VAT: the standard rate of the EU-27 and GB, and each country's main `reduced` rate where it is
  clear which one that is (a country with two reduced rates keeps the other in a comment, because the
  category list has one `reduced`). `super_reduced` is a rate below 5 % (Art. 110 of the VAT
  Directive), `zero` a 0 % rate (GB, IE). Rates unchanged since before 2024 start on `SEEDED_FROM`:
  earlier history is not seeded, except the rates a test or the demo needs (DE's temporary 16 % and 5 %
  of 2020-07-01 to 2020-12-31) and recent changes (EE, FI, SK, RO).
- US: state base sales tax rates, by ship-to state as `region`. Local add-ons are not included; a
  company that collects them adds rows with a region such as "CA-LA" carrying the combined rate and
  ships to that region. OR, DE, MT, NH and AK levy no state sales tax: 0 % rows, and a rule that reports
  them as not subject (O). Whether a product is taxable in a state (SaaS is not in CA, for example) is
  the product's category: such a company adds a `zero` row for that state.
- Rules: business-to-business and business-to-consumer services (SaaS). Place of supply for B2B
  services is the buyer's country (Art. 44), so intra-EU B2B is reverse charged (AE) and B2B outside
  the EU is not subject to EU VAT; B2C electronically supplied services are taxed where the consumer
  lives (Art. 58): the buyer country's rate in the EU (One-Stop Shop; the EUR 10,000 threshold for
  small sellers is not modelled: every EU seller is treated as over it), outside the EU 0 % unless
  the seller is registered in the buyer's country. Outside-the-EU supplies use category G rather than
  O, because EN 16931 forbids the seller's VAT id on an invoice with an O line (BR-O-02) and a VAT
  registered seller always prints it; G requires the exemption reason, which the note gives.
- GB sellers, after 2020: 20 % at home; B2B abroad outside the scope of UK VAT (place of supply is the
  customer's country, VAT Act 1994 s. 7A), shown as G for the same reason; B2C to EU consumers at the
  consumer's EU rate (non-Union OSS); B2C elsewhere outside the scope unless the seller is registered
  in the consumer's country. Northern Ireland (XI) is not
  modelled. Before 2021 GB was in the EU VAT area and the EU rules apply.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_noop

from o2c.billing.tax import RateRow, RuleRow, ZoneMember

SEEDED_FROM = date(2024, 1, 1)

_FOUNDERS = ("BE", "DE", "FR", "IT", "LU", "NL")
_2004 = ("CY", "CZ", "EE", "HU", "LT", "LV", "MT", "PL", "SI", "SK")

EU_MEMBERSHIP: tuple[ZoneMember, ...] = (
    *(ZoneMember("EU", country, date(1958, 1, 1)) for country in _FOUNDERS),
    *(ZoneMember("EU", country, date(1973, 1, 1)) for country in ("DK", "IE")),
    # The EU VAT rules applied to GB until the Brexit transition period ended.
    ZoneMember("EU", "GB", date(1973, 1, 1), date(2020, 12, 31)),
    ZoneMember("EU", "GR", date(1981, 1, 1)),
    *(ZoneMember("EU", country, date(1986, 1, 1)) for country in ("ES", "PT")),
    *(ZoneMember("EU", country, date(1995, 1, 1)) for country in ("AT", "FI", "SE")),
    *(ZoneMember("EU", country, date(2004, 5, 1)) for country in _2004),
    *(ZoneMember("EU", country, date(2007, 1, 1)) for country in ("BG", "RO")),
    ZoneMember("EU", "HR", date(2013, 7, 1)),
)


def _vat(
    country: str, category: str, rate: str, valid_from: date = SEEDED_FROM, valid_to: date | None = None
) -> RateRow:
    return RateRow(country, "", category, Decimal(rate), valid_from, valid_to)


def _us(state: str, rate: str) -> RateRow:
    return RateRow("US", state, "standard", Decimal(rate), SEEDED_FROM)


VAT_RATES: tuple[RateRow, ...] = (
    _vat("AT", "standard", "20"),
    _vat("AT", "reduced", "10"),  # also 13 %
    _vat("BE", "standard", "21"),
    _vat("BE", "reduced", "6"),  # also 12 %
    _vat("BG", "standard", "20"),
    _vat("BG", "reduced", "9"),
    _vat("CY", "standard", "19"),
    _vat("CY", "reduced", "5"),  # also 9 %
    _vat("CZ", "standard", "21"),
    _vat("CZ", "reduced", "12"),  # one reduced rate since 2024 (was 10 % and 15 %)
    _vat("DE", "standard", "19", date(2007, 1, 1), date(2020, 6, 30)),
    _vat("DE", "standard", "16", date(2020, 7, 1), date(2020, 12, 31)),  # COVID-19 temporary cut
    _vat("DE", "standard", "19", date(2021, 1, 1)),
    _vat("DE", "reduced", "7", date(1983, 7, 1), date(2020, 6, 30)),
    _vat("DE", "reduced", "5", date(2020, 7, 1), date(2020, 12, 31)),
    _vat("DE", "reduced", "7", date(2021, 1, 1)),
    _vat("DK", "standard", "25"),  # no reduced rate
    _vat("EE", "standard", "22", SEEDED_FROM, date(2025, 6, 30)),
    _vat("EE", "standard", "24", date(2025, 7, 1)),
    _vat("EE", "reduced", "9"),  # also 13 % (accommodation, since 2025) and 5 %
    _vat("ES", "standard", "21"),
    _vat("ES", "reduced", "10"),
    _vat("ES", "super_reduced", "4"),
    _vat("FI", "standard", "24", SEEDED_FROM, date(2024, 8, 31)),
    _vat("FI", "standard", "25.5", date(2024, 9, 1)),
    # FI reduced rates are not seeded: they moved in 2025 and (food, 14 % to 13.5 %) in 2026.
    _vat("FR", "standard", "20"),
    _vat("FR", "reduced", "5.5"),  # also 10 %
    _vat("FR", "super_reduced", "2.1"),
    _vat("GR", "standard", "24"),
    _vat("GR", "reduced", "13"),  # also 6 %
    _vat("HR", "standard", "25"),  # reduced 13 % and 5 %: neither is the main one
    _vat("HU", "standard", "27"),  # reduced 18 % and 5 %: neither is the main one
    _vat("IE", "standard", "23"),
    _vat("IE", "reduced", "13.5"),  # also 9 %
    _vat("IE", "zero", "0"),
    _vat("IT", "standard", "22"),
    _vat("IT", "reduced", "10"),  # also 5 %
    _vat("IT", "super_reduced", "4"),
    _vat("LT", "standard", "21"),
    _vat("LT", "reduced", "9"),  # also 5 %
    _vat("LU", "standard", "17"),  # 16 % in 2023 (temporary)
    _vat("LU", "reduced", "8"),  # also 14 % (parking rate)
    _vat("LU", "super_reduced", "3"),
    _vat("LV", "standard", "21"),
    _vat("LV", "reduced", "12"),  # also 5 %
    _vat("MT", "standard", "18"),  # reduced 7 % and 5 %: neither is the main one
    _vat("NL", "standard", "21"),
    _vat("NL", "reduced", "9"),
    _vat("PL", "standard", "23"),
    _vat("PL", "reduced", "8"),  # also 5 %
    _vat("PT", "standard", "23"),  # mainland; Azores and Madeira differ
    _vat("PT", "reduced", "6"),  # also 13 %
    _vat("RO", "standard", "19", SEEDED_FROM, date(2025, 7, 31)),
    _vat("RO", "standard", "21", date(2025, 8, 1)),
    _vat("RO", "reduced", "9", SEEDED_FROM, date(2025, 7, 31)),  # and 5 % until then
    _vat("RO", "reduced", "11", date(2025, 8, 1)),  # 9 % and 5 % merged
    _vat("SE", "standard", "25"),
    _vat("SE", "reduced", "12"),  # also 6 %
    _vat("SI", "standard", "22"),
    _vat("SI", "reduced", "9.5"),  # also 5 %
    _vat("SK", "standard", "20", SEEDED_FROM, date(2024, 12, 31)),
    _vat("SK", "standard", "23", date(2025, 1, 1)),  # reduced 19 % and 5 % since 2025: not seeded
    _vat("GB", "standard", "20"),
    _vat("GB", "reduced", "5"),
    _vat("GB", "zero", "0"),
)

US_STATE_RATES: tuple[RateRow, ...] = (
    _us("CA", "7.25"),
    _us("CO", "2.9"),
    _us("FL", "6"),
    _us("GA", "4"),
    _us("IL", "6.25"),
    _us("MA", "6.25"),
    _us("NJ", "6.625"),
    _us("NY", "4"),
    _us("PA", "6"),
    _us("TX", "6.25"),
    _us("WA", "6.5"),
    *(_us(state, "0") for state in ("AK", "DE", "MT", "NH", "OR")),
)

RATES: tuple[RateRow, ...] = VAT_RATES + US_STATE_RATES

REVERSE_CHARGE_NOTE = gettext_noop(
    "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Council Directive 2006/112/EC)"
)
OUTSIDE_EU_B2B_NOTE = gettext_noop(
    "Not subject to VAT in the EU: place of supply outside the EU (Art. 44 Council Directive 2006/112/EC)"
)
OUTSIDE_EU_B2C_NOTE = gettext_noop(
    "Not subject to VAT in the EU: place of supply outside the EU (Art. 58 Council Directive 2006/112/EC)"
)
OUTSIDE_UK_B2B_NOTE = gettext_noop(
    "Outside the scope of UK VAT: place of supply is the customer's country (section 7A VAT Act 1994)"
)
OUTSIDE_UK_B2C_NOTE = gettext_noop("Outside the scope of UK VAT: place of supply outside the UK")
US_EXEMPT_NOTE = gettext_noop("Exempt from sales tax: certificate {certificate}")
US_NOT_REGISTERED_NOTE = gettext_noop(
    "Sales tax not collected: the seller is not registered in {jurisdiction}; the buyer may owe use tax"
)
US_NO_SALES_TAX_NOTE = gettext_noop("No state sales tax in {jurisdiction}")
US_EXPORT_NOTE = gettext_noop("Not subject to US sales tax: delivery outside the United States")

# Priorities: 0 for the catch-all of a seller zone, 5 for a registration that overrides it, 10 for the
# ordinary cases, 20 for exceptions of one jurisdiction.
EU_RULES: tuple[RuleRow, ...] = (
    RuleRow(
        name="eu_domestic",
        description="EU domestic supply: the seller's rate",
        priority=10,
        seller_zone="EU",
        buyer_zone="EU",
        relation="domestic",
        place="seller",
        uses_rate_table=True,
        category_code="S",
    ),
    RuleRow(
        name="eu_b2b_reverse_charge",
        description="intra-EU B2B service: reverse charge",
        priority=10,
        seller_zone="EU",
        buyer_zone="EU",
        relation="cross_border",
        buyer_kind="business",
        place="buyer",
        uses_rate_table=False,
        category_code="AE",
        note=REVERSE_CHARGE_NOTE,
    ),
    RuleRow(
        name="eu_b2c_oss",
        description="intra-EU B2C electronic service: the consumer's country rate (One-Stop Shop)",
        priority=10,
        seller_zone="EU",
        buyer_zone="EU",
        relation="cross_border",
        buyer_kind="consumer",
        place="buyer",
        uses_rate_table=True,
        category_code="S",
    ),
    RuleRow(
        name="eu_b2b_outside_eu",
        description="B2B service to a customer outside the EU: not subject to EU VAT",
        priority=0,
        seller_zone="EU",
        relation="cross_border",
        buyer_kind="business",
        place="buyer",
        uses_rate_table=False,
        category_code="G",
        note=OUTSIDE_EU_B2B_NOTE,
    ),
    RuleRow(
        name="eu_b2c_outside_eu",
        description="B2C electronic service to a consumer outside the EU: not subject to EU VAT",
        priority=0,
        seller_zone="EU",
        relation="cross_border",
        buyer_kind="consumer",
        place="buyer",
        uses_rate_table=False,
        category_code="G",
        note=OUTSIDE_EU_B2C_NOTE,
    ),
    RuleRow(
        name="eu_b2c_outside_eu_registered",
        description="B2C electronic service outside the EU where the seller is registered: local rate",
        priority=5,
        seller_zone="EU",
        relation="cross_border",
        buyer_kind="consumer",
        seller_registered=True,
        place="buyer",
        uses_rate_table=True,
        category_code="S",
    ),
)

GB_RULES: tuple[RuleRow, ...] = (
    RuleRow(
        name="gb_domestic",
        description="UK domestic supply: UK VAT",
        priority=10,
        seller_zone="GB",
        relation="domestic",
        place="seller",
        uses_rate_table=True,
        category_code="S",
    ),
    RuleRow(
        name="gb_b2b_abroad",
        description="UK B2B service to a customer abroad: outside the scope of UK VAT",
        priority=0,
        seller_zone="GB",
        relation="cross_border",
        buyer_kind="business",
        place="buyer",
        uses_rate_table=False,
        category_code="G",
        note=OUTSIDE_UK_B2B_NOTE,
    ),
    RuleRow(
        name="gb_b2c_eu_oss",
        description="UK B2C electronic service to an EU consumer: the consumer's rate (non-Union OSS)",
        priority=10,
        seller_zone="GB",
        buyer_zone="EU",
        relation="cross_border",
        buyer_kind="consumer",
        place="buyer",
        uses_rate_table=True,
        category_code="S",
    ),
    RuleRow(
        name="gb_b2c_abroad",
        description="UK B2C electronic service to a consumer outside the UK and the EU: outside the scope",
        priority=0,
        seller_zone="GB",
        relation="cross_border",
        buyer_kind="consumer",
        place="buyer",
        uses_rate_table=False,
        category_code="G",
        note=OUTSIDE_UK_B2C_NOTE,
    ),
    RuleRow(
        name="gb_b2c_abroad_registered",
        description="UK B2C electronic service abroad where the seller is registered: local rate",
        priority=5,
        seller_zone="GB",
        relation="cross_border",
        buyer_kind="consumer",
        seller_registered=True,
        place="buyer",
        uses_rate_table=True,
        category_code="S",
    ),
)

US_RULES: tuple[RuleRow, ...] = (
    RuleRow(
        name="us_sales_tax",
        description="US sale into a state where the seller is registered: the state's sales tax",
        priority=10,
        seller_zone="US",
        relation="domestic",
        seller_registered=True,
        buyer_exempt=False,
        place="buyer",
        uses_rate_table=True,
        category_code="S",
    ),
    RuleRow(
        name="us_exempt",
        description="US sale to a buyer with an exemption certificate: exempt",
        priority=10,
        seller_zone="US",
        relation="domestic",
        seller_registered=True,
        buyer_exempt=True,
        place="buyer",
        uses_rate_table=False,
        category_code="E",
        note=US_EXEMPT_NOTE,
    ),
    RuleRow(
        name="us_no_nexus",
        description="US sale into a state where the seller is not registered: no sales tax collected",
        priority=10,
        seller_zone="US",
        relation="domestic",
        seller_registered=False,
        place="buyer",
        uses_rate_table=False,
        category_code="O",
        note=US_NOT_REGISTERED_NOTE,
    ),
    *(
        RuleRow(
            name=f"us_no_sales_tax_{state.lower()}",
            description=f"US sale into {state}, which has no state sales tax",
            priority=20,
            seller_zone="US",
            relation="domestic",
            buyer_jurisdiction=f"US-{state}",
            place="buyer",
            uses_rate_table=True,  # the 0 % row: a rate in the table would be refused as inconsistent
            category_code="O",
            note=US_NO_SALES_TAX_NOTE,
        )
        for state in ("AK", "DE", "MT", "NH", "OR")
    ),
    RuleRow(
        name="us_export",
        description="US sale to a buyer outside the US: no sales tax",
        priority=0,
        seller_zone="US",
        relation="cross_border",
        place="buyer",
        uses_rate_table=False,
        category_code="G",
        note=US_EXPORT_NOTE,
    ),
)

RULES: tuple[RuleRow, ...] = EU_RULES + GB_RULES + US_RULES
