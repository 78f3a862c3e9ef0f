"""Tax determination, case by case, each with a worked invoice whose amounts are computed by hand.

The invoices go through `document_totals`: line nets summed per rate, tax rounded half up once per rate.
"""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from o2c.billing import tax, taxdata
from o2c.receivables.calculations import DocumentTotals, LineIn, document_totals

DE_SELLER = tax.Seller("DE", frozenset({"DE"}))
GB_SELLER = tax.Seller("GB", frozenset({"GB"}))
US_SELLER = tax.Seller("US", frozenset({"US-CA", "US-NY", "US-TX", "US-WA"}))
ON = date(2026, 3, 16)
FR_VAT_ID = "FR40303265045"

REVERSE_CHARGE = (
    "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Council Directive 2006/112/EC)"
)
OUTSIDE_EU_B2B = (
    "Not subject to VAT in the EU: place of supply outside the EU (Art. 44 Council Directive 2006/112/EC)"
)
OUTSIDE_EU_B2C = (
    "Not subject to VAT in the EU: place of supply outside the EU (Art. 58 Council Directive 2006/112/EC)"
)


def decide(
    seller: tax.Seller,
    buyer: tax.Buyer,
    category: str = "standard",
    on: date = ON,
    rates: tuple[tax.RateRow, ...] = taxdata.RATES,
    rules: tuple[tax.RuleRow, ...] = taxdata.RULES,
) -> tax.TaxDecision:
    return tax.determine_tax(
        seller=seller,
        buyer=buyer,
        product_category=category,
        on=on,
        rates=rates,
        rules=rules,
        zones=taxdata.EU_MEMBERSHIP,
    )


def invoice(
    decision: tax.TaxDecision, *prices: str, currency: str = "EUR", quantity: int = 1
) -> DocumentTotals:
    lines = [
        LineIn(
            description=f"line {n}", quantity=Decimal(quantity), unit_price=Decimal(p), tax_rate=decision.rate
        )
        for n, p in enumerate(prices, 1)
    ]
    return document_totals(lines, currency)


def amounts(totals: DocumentTotals) -> tuple[int, int, int]:
    return totals.net_minor, totals.tax_minor, totals.total_minor


def outcome(decision: tax.TaxDecision) -> tuple[Decimal, str, str, str]:
    return decision.rate, decision.category_code, decision.jurisdiction, decision.note


THREE_LINES = ("33.33", "33.33", "33.33")  # net 99.99


class TestEuDomestic:
    def test_de_seller_charges_a_de_business_19_percent_standard_rated(self):
        decision = decide(DE_SELLER, tax.Buyer("DE", vat_id="DE136695976", vat_id_valid=True))

        assert outcome(decision) == (Decimal(19), "S", "DE", "")
        assert decision.rule == "eu_domestic"
        # 99.99 x 19 % = 18.9981 -> 19.00
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 1900, 11899)

    def test_de_seller_charges_a_de_consumer_the_same_19_percent(self):
        decision = decide(DE_SELLER, tax.Buyer("DE"))

        assert outcome(decision) == (Decimal(19), "S", "DE", "")
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 1900, 11899)

    def test_reduced_category_is_charged_7_percent(self):
        decision = decide(DE_SELLER, tax.Buyer("DE"), category="reduced")

        assert outcome(decision) == (Decimal(7), "S", "DE", "")
        # 99.99 x 7 % = 6.9993 -> 7.00
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 700, 10699)

    def test_tax_is_rounded_once_per_rate_not_per_line(self):
        decision = decide(DE_SELLER, tax.Buyer("DE"))

        # Per line 0.25 x 19 % = 0.0475 -> 0.05, three lines 0.15; once: 0.75 x 19 % = 0.1425 -> 0.14.
        assert amounts(invoice(decision, "0.25", "0.25", "0.25")) == (75, 14, 89)

    def test_a_zero_rate_category_is_zero_rated_not_standard(self):
        decision = decide(GB_SELLER, tax.Buyer("GB"), category="zero")

        assert outcome(decision) == (Decimal(0), "Z", "GB", "")
        assert amounts(invoice(decision, *THREE_LINES, currency="GBP")) == (9999, 0, 9999)


class TestRatesByDate:
    @pytest.mark.parametrize(
        ("on", "category", "rate", "tax_minor"),
        [
            (date(2020, 6, 30), "standard", Decimal(19), 1900),  # 18.9981
            (date(2020, 7, 1), "standard", Decimal(16), 1600),  # 15.9984
            (date(2020, 12, 31), "standard", Decimal(16), 1600),
            (date(2021, 1, 1), "standard", Decimal(19), 1900),
            (date(2020, 7, 1), "reduced", Decimal(5), 500),  # 4.9995
            (date(2021, 1, 1), "reduced", Decimal(7), 700),  # 6.9993
        ],
    )
    def test_de_temporary_rates_apply_from_july_to_december_2020_only(self, on, category, rate, tax_minor):
        decision = decide(DE_SELLER, tax.Buyer("DE"), category=category, on=on)

        assert outcome(decision) == (rate, "S", "DE", "")
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, tax_minor, 9999 + tax_minor)

    @pytest.mark.parametrize(
        ("on", "rate", "tax_minor"),
        [(date(2025, 6, 30), Decimal(22), 2200), (date(2025, 7, 1), Decimal(24), 2400)],  # 21.9978, 23.9976
    )
    def test_estonia_charges_24_percent_from_july_2025_to_consumers_abroad(self, on, rate, tax_minor):
        decision = decide(DE_SELLER, tax.Buyer("EE"), on=on)

        assert outcome(decision) == (rate, "S", "EE", "")
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, tax_minor, 9999 + tax_minor)

    def test_a_missing_rate_is_refused_naming_country_category_and_date(self):
        with pytest.raises(tax.UnableToDetermineTax) as refused:
            decide(DE_SELLER, tax.Buyer("DK"), category="reduced", on=date(2026, 1, 1))

        assert refused.value.code == "no_tax_rate"
        assert refused.value.message == "no tax rate for country DK, category 'reduced', on 2026-01-01"

    def test_a_missing_local_rate_is_refused_naming_the_region_not_replaced_by_the_state_rate(self):
        with pytest.raises(tax.UnableToDetermineTax) as refused:
            decide(US_SELLER, tax.Buyer("US", region="CA-LA"))

        assert refused.value.code == "no_tax_rate"
        assert refused.value.message == (
            "no tax rate for country US, region CA-LA, category 'standard', on 2026-03-16"
        )

    def test_a_local_rate_row_a_company_adds_applies_under_its_state_registration(self):
        local = tax.RateRow("US", "CA-LA", "standard", Decimal("9.5"), date(2026, 1, 1))

        decision = decide(US_SELLER, tax.Buyer("US", region="CA-LA"), rates=(*taxdata.RATES, local))

        assert outcome(decision) == (Decimal("9.5"), "S", "US-CA-LA", "")
        # 99.99 x 9.5 % = 9.49905 -> 9.50
        assert amounts(invoice(decision, *THREE_LINES, currency="USD")) == (9999, 950, 10949)

    def test_overlapping_rates_are_refused(self):
        overlap = tax.RateRow("DE", "", "standard", Decimal(20), date(2026, 1, 1))

        with pytest.raises(tax.UnableToDetermineTax) as refused:
            decide(DE_SELLER, tax.Buyer("DE"), rates=(*taxdata.RATES, overlap))

        assert refused.value.code == "ambiguous_tax_rate"


class TestIntraEu:
    def test_b2b_with_a_valid_vat_id_in_another_member_state_is_reverse_charged(self):
        decision = decide(DE_SELLER, tax.Buyer("FR", vat_id=FR_VAT_ID, vat_id_valid=True))

        assert outcome(decision) == (Decimal(0), "AE", "FR", REVERSE_CHARGE)
        assert decision.rule == "eu_b2b_reverse_charge"
        assert decision.explanation == (
            "intra-EU B2B service: reverse charge (seller DE (EU), buyer FR (EU), cross-border, "
            f"business with VAT id {FR_VAT_ID}, seller not registered in FR)"
        )
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 0, 9999)

    def test_an_invalid_vat_id_makes_the_buyer_a_consumer_taxed_at_the_french_rate(self):
        decision = decide(DE_SELLER, tax.Buyer("FR", vat_id="FR00000000000", vat_id_valid=False))

        assert outcome(decision) == (Decimal(20), "S", "FR", "")
        assert decision.rule == "eu_b2c_oss"
        # 99.99 x 20 % = 19.998 -> 20.00
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 2000, 11999)

    def test_a_consumer_without_vat_id_pays_the_french_rate_through_the_one_stop_shop(self):
        decision = decide(DE_SELLER, tax.Buyer("FR"))

        assert outcome(decision) == (Decimal(20), "S", "FR", "")
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 2000, 11999)

    def test_a_consumer_gets_the_french_reduced_rate_for_a_reduced_product(self):
        decision = decide(DE_SELLER, tax.Buyer("FR"), category="reduced")

        assert outcome(decision) == (Decimal("5.5"), "S", "FR", "")
        # 99.99 x 5.5 % = 5.49945 -> 5.50
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 550, 10549)


class TestOutsideTheEu:
    @pytest.mark.parametrize(
        ("buyer", "jurisdiction", "note"),
        [
            (tax.Buyer("CH", vat_id="CHE-116.281.710", vat_id_valid=True), "CH", OUTSIDE_EU_B2B),
            (tax.Buyer("US", region="CA", vat_id="12-3456789", vat_id_valid=True), "US-CA", OUTSIDE_EU_B2B),
            (tax.Buyer("CH"), "CH", OUTSIDE_EU_B2C),
            (tax.Buyer("US", region="NY"), "US-NY", OUTSIDE_EU_B2C),
        ],
    )
    def test_de_seller_charges_no_vat_to_buyers_outside_the_eu(self, buyer, jurisdiction, note):
        decision = decide(DE_SELLER, buyer)

        assert outcome(decision) == (Decimal(0), "G", jurisdiction, note)
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 0, 9999)

    def test_gb_is_outside_the_eu_from_2021(self):
        buyer = tax.Buyer("GB", vat_id="GB980780684", vat_id_valid=True)

        decision = decide(DE_SELLER, buyer, on=date(2021, 1, 1))

        assert outcome(decision) == (Decimal(0), "G", "GB", OUTSIDE_EU_B2B)
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 0, 9999)

    def test_gb_business_was_reverse_charged_while_gb_was_in_the_eu(self):
        buyer = tax.Buyer("GB", vat_id="GB980780684", vat_id_valid=True)

        decision = decide(DE_SELLER, buyer, on=date(2020, 12, 31))

        assert outcome(decision) == (Decimal(0), "AE", "GB", REVERSE_CHARGE)

    def test_a_seller_registered_in_gb_charges_uk_vat_to_gb_consumers(self):
        seller = tax.Seller("DE", frozenset({"DE", "GB"}))

        decision = decide(seller, tax.Buyer("GB"))

        assert outcome(decision) == (Decimal(20), "S", "GB", "")
        assert decision.rule == "eu_b2c_outside_eu_registered"
        # 99.99 x 20 % = 19.998 -> 20.00
        assert amounts(invoice(decision, *THREE_LINES, currency="GBP")) == (9999, 2000, 11999)


class TestGbSeller:
    def test_domestic_supply_is_charged_20_percent(self):
        decision = decide(GB_SELLER, tax.Buyer("GB", vat_id="GB980780684", vat_id_valid=True))

        assert outcome(decision) == (Decimal(20), "S", "GB", "")
        # 19.99 + 19.99 + 5.00 = 44.98; x 20 % = 8.996 -> 9.00
        assert amounts(invoice(decision, "19.99", "19.99", "5.00", currency="GBP")) == (4498, 900, 5398)

    def test_domestic_reduced_supply_is_charged_5_percent(self):
        decision = decide(GB_SELLER, tax.Buyer("GB"), category="reduced")

        assert outcome(decision) == (Decimal(5), "S", "GB", "")
        # 44.98 x 5 % = 2.249 -> 2.25
        assert amounts(invoice(decision, "19.99", "19.99", "5.00", currency="GBP")) == (4498, 225, 4723)

    def test_b2b_to_an_eu_business_is_outside_the_scope_of_uk_vat(self):
        decision = decide(GB_SELLER, tax.Buyer("FR", vat_id=FR_VAT_ID, vat_id_valid=True))

        assert outcome(decision) == (Decimal(0), "G", "FR", taxdata.OUTSIDE_UK_B2B_NOTE)
        assert decision.note == (
            "Outside the scope of UK VAT: place of supply is the customer's country (section 7A VAT Act 1994)"
        )
        assert amounts(invoice(decision, *THREE_LINES, currency="GBP")) == (9999, 0, 9999)

    def test_b2c_to_an_eu_consumer_is_charged_the_consumers_rate_through_the_non_union_oss(self):
        decision = decide(GB_SELLER, tax.Buyer("FR"))

        assert outcome(decision) == (Decimal(20), "S", "FR", "")
        assert decision.rule == "gb_b2c_eu_oss"
        assert amounts(invoice(decision, *THREE_LINES)) == (9999, 2000, 11999)

    def test_b2c_outside_the_uk_and_the_eu_is_outside_the_scope(self):
        decision = decide(GB_SELLER, tax.Buyer("US", region="CA"))

        assert outcome(decision) == (
            Decimal(0),
            "G",
            "US-CA",
            "Outside the scope of UK VAT: place of supply outside the UK",
        )

    def test_before_2021_a_gb_seller_followed_the_eu_rules(self):
        decision = decide(
            GB_SELLER, tax.Buyer("DE", vat_id="DE136695976", vat_id_valid=True), on=date(2020, 6, 1)
        )

        assert outcome(decision) == (Decimal(0), "AE", "DE", REVERSE_CHARGE)


class TestUsSalesTax:
    @pytest.mark.parametrize(
        ("state", "rate", "tax_minor"),
        [
            ("CA", Decimal("7.25"), 326),  # 44.98 x 7.25 % = 3.26105
            ("NY", Decimal(4), 180),  # 1.7992
            ("TX", Decimal("6.25"), 281),  # 2.81125
            ("WA", Decimal("6.5"), 292),  # 2.9237
        ],
    )
    def test_sales_tax_is_the_ship_to_states_rate_where_the_seller_is_registered(
        self, state, rate, tax_minor
    ):
        decision = decide(US_SELLER, tax.Buyer("US", region=state))

        assert outcome(decision) == (rate, "S", f"US-{state}", "")
        assert decision.rule == "us_sales_tax"
        totals = invoice(decision, "19.99", "19.99", "5.00", currency="USD")
        assert amounts(totals) == (4498, tax_minor, 4498 + tax_minor)

    def test_no_sales_tax_is_collected_in_a_state_where_the_seller_is_not_registered(self):
        decision = decide(US_SELLER, tax.Buyer("US", region="FL"))

        assert outcome(decision) == (Decimal(0), "O", "US-FL", taxdata.US_NOT_REGISTERED_NOTE)
        assert decision.note == (
            "Sales tax not collected: the seller is not registered in {jurisdiction}; "
            "the buyer may owe use tax"
        )
        assert decision.note_params == (("jurisdiction", "US-FL"),)
        assert tax.note_text(decision) == (
            "Sales tax not collected: the seller is not registered in US-FL; the buyer may owe use tax"
        )
        assert amounts(invoice(decision, "19.99", "19.99", "5.00", currency="USD")) == (4498, 0, 4498)

    def test_an_exemption_certificate_exempts_the_sale_and_is_named_on_the_invoice(self):
        decision = decide(US_SELLER, tax.Buyer("US", region="NY", exemption_certificate="ST-120-0042"))

        assert outcome(decision) == (
            Decimal(0),
            "E",
            "US-NY",
            "Exempt from sales tax: certificate {certificate}",
        )
        assert decision.note_params == (("certificate", "ST-120-0042"),)
        with translation.override("en"):
            assert tax.note_text(decision) == "Exempt from sales tax: certificate ST-120-0042"
        assert amounts(invoice(decision, "19.99", "19.99", "5.00", currency="USD")) == (4498, 0, 4498)

    def test_an_exemption_certificate_in_a_state_without_registration_is_still_not_collected(self):
        decision = decide(US_SELLER, tax.Buyer("US", region="FL", exemption_certificate="FL-1"))

        assert (decision.category_code, decision.rule) == ("O", "us_no_nexus")

    @pytest.mark.parametrize("state", ["OR", "DE", "MT", "NH", "AK"])
    def test_a_state_without_sales_tax_is_not_subject_even_where_the_seller_is_registered(self, state):
        seller = tax.Seller("US", frozenset({f"US-{state}"}))

        decision = decide(seller, tax.Buyer("US", region=state))

        assert outcome(decision) == (Decimal(0), "O", f"US-{state}", "No state sales tax in {jurisdiction}")
        assert tax.note_text(decision) == f"No state sales tax in US-{state}"
        assert amounts(invoice(decision, "19.99", "19.99", "5.00", currency="USD")) == (4498, 0, 4498)

    def test_a_rate_contradicting_a_no_sales_tax_rule_is_refused(self):
        rates = tuple(row for row in taxdata.RATES if row.region != "OR")
        rates += (tax.RateRow("US", "OR", "standard", Decimal(1), date(2026, 1, 1)),)

        with pytest.raises(tax.UnableToDetermineTax) as refused:
            decide(US_SELLER, tax.Buyer("US", region="OR"), rates=rates)

        assert refused.value.code == "inconsistent_tax_data"

    @pytest.mark.parametrize(
        "buyer",
        [
            tax.Buyer("DE", vat_id="DE136695976", vat_id_valid=True),
            tax.Buyer("CA", region="ON"),
            tax.Buyer("GB"),
        ],
    )
    def test_a_sale_outside_the_us_is_not_subject_to_sales_tax(self, buyer):
        decision = decide(US_SELLER, buyer)

        assert outcome(decision) == (
            Decimal(0),
            "G",
            tax.tax_jurisdiction(buyer.country, buyer.region),
            "Not subject to US sales tax: delivery outside the United States",
        )
        assert amounts(invoice(decision, "19.99", "19.99", "5.00", currency="USD")) == (4498, 0, 4498)


class TestCreditMemo:
    def test_a_credit_memo_reverses_tax_at_the_invoices_rate_after_the_rate_changed(self):
        invoiced = decide(DE_SELLER, tax.Buyer("DE"), on=date(2020, 12, 15))
        credited = tax.reversal(invoiced)

        assert (credited.rate, credited.category_code, credited.jurisdiction) == (Decimal(16), "S", "DE")
        # Determined afresh on the credit memo's date it would be 19 %, leaving 3.00 of tax behind.
        assert decide(DE_SELLER, tax.Buyer("DE"), on=date(2021, 1, 15)).rate == Decimal(19)
        invoice_totals = invoice(invoiced, *THREE_LINES)
        memo_totals = invoice(credited, *THREE_LINES, quantity=-1)
        assert amounts(invoice_totals) == (9999, 1600, 11599)
        assert amounts(memo_totals) == (-9999, -1600, -11599)

    def test_a_credit_memo_for_a_reverse_charged_invoice_keeps_the_legal_note(self):
        invoiced = decide(DE_SELLER, tax.Buyer("FR", vat_id=FR_VAT_ID, vat_id_valid=True))

        credited = tax.reversal(invoiced)

        assert outcome(credited) == (Decimal(0), "AE", "FR", REVERSE_CHARGE)
        assert credited.explanation.startswith("credit memo at the invoice's tax: intra-EU B2B service")
        assert amounts(invoice(credited, *THREE_LINES, quantity=-1)) == (-9999, 0, -9999)


class TestRuleData:
    def test_the_eu_has_27_members_in_2026_and_gb_left_at_the_end_of_2020(self):
        members_2026 = {
            row.country
            for row in taxdata.EU_MEMBERSHIP
            if tax.zone_of(row.country, ON, taxdata.EU_MEMBERSHIP) == "EU"
        }

        assert len(members_2026) == 27
        assert "GB" not in members_2026
        assert tax.zone_of("GB", date(2020, 12, 31), taxdata.EU_MEMBERSHIP) == "EU"
        assert tax.zone_of("GB", date(2021, 1, 1), taxdata.EU_MEMBERSHIP) == "GB"
        assert tax.zone_of("HR", date(2013, 6, 30), taxdata.EU_MEMBERSHIP) == "HR"

    def test_every_eu_member_and_gb_has_a_standard_rate_in_2026(self):
        countries = {row.country for row in taxdata.EU_MEMBERSHIP} | {"GB"}

        for country in countries:
            rate = tax.rate_on(country=country, region="", category="standard", on=ON, rates=taxdata.RATES)
            assert Decimal(17) <= rate <= Decimal(27), country

    def test_no_two_rate_rows_overlap(self):
        keys = {(row.country, row.region, row.category) for row in taxdata.RATES}

        for key in keys:
            rows = sorted(
                (row for row in taxdata.RATES if (row.country, row.region, row.category) == key),
                key=lambda r: r.valid_from,
            )
            for earlier, later in pairwise(rows):
                assert earlier.valid_to is not None and earlier.valid_to < later.valid_from, key

    def test_every_rule_that_charges_no_tax_gives_the_reason_on_the_invoice(self):
        # EN 16931 requires an exemption reason for AE, K, G, E and O (BR-AE-10, BR-G-10, ...).
        silent = [
            rule.name for rule in taxdata.RULES if rule.category_code not in ("S", "Z") and not rule.note
        ]

        assert silent == []

    def test_a_rule_with_an_unknown_value_is_refused_when_it_is_built(self):
        with pytest.raises(tax.UnableToDetermineTax) as refused:
            tax.RuleRow(
                name="typo",
                description="",
                priority=0,
                seller_zone="EU",
                relation="intra_eu",
                place="buyer",
                uses_rate_table=False,
                category_code="AE",
                note="{vatid}",
            )

        assert refused.value.code == "bad_tax_rule"
        assert refused.value.message == (
            "tax rule 'typo' has an unknown relation 'intra_eu', note placeholder '{vatid}'"
        )

    def test_two_rules_deciding_one_case_at_the_same_priority_are_refused(self):
        copy = replace(taxdata.RULES[0], name="eu_domestic_copy")

        with pytest.raises(tax.UnableToDetermineTax) as refused:
            decide(DE_SELLER, tax.Buyer("DE"), rules=(*taxdata.RULES, copy))

        assert refused.value.code == "ambiguous_tax_rule"
        assert refused.value.message.startswith(
            "tax rules eu_domestic, eu_domestic_copy all apply at priority 10"
        )

    def test_a_seller_no_rule_covers_is_refused(self):
        with pytest.raises(tax.UnableToDetermineTax) as refused:
            decide(tax.Seller("CH", frozenset({"CH"})), tax.Buyer("CH"))

        assert refused.value.code == "no_tax_rule"
        assert refused.value.message == (
            "no tax rule applies to: seller CH, buyer CH, domestic, no valid VAT id, seller registered in CH"
        )


EU_2026 = sorted({row.country for row in taxdata.EU_MEMBERSHIP} - {"GB"})
US_STATES = sorted({row.region for row in taxdata.US_STATE_RATES})
SELLER_COUNTRIES = [*EU_2026, "GB", "US"]
BUYER_COUNTRIES = [*EU_2026, "GB", "US", "CH", "NO", "JP", "CA"]
REGISTRABLE = [*EU_2026, "GB", *(f"US-{state}" for state in US_STATES)]


@st.composite
def sales(draw: st.DrawFn) -> tuple[tax.Seller, tax.Buyer, date]:
    """Any seller and buyer, weighted towards the pairs the rules tell apart (home, FR, GB, US, CH)."""
    country = draw(st.one_of(st.sampled_from(["DE", "GB", "US"]), st.sampled_from(SELLER_COUNTRIES)))
    buyer_country = draw(
        st.one_of(
            st.just(country), st.sampled_from(["FR", "GB", "US", "CH"]), st.sampled_from(BUYER_COUNTRIES)
        )
    )
    buyer = tax.Buyer(
        buyer_country,
        region=draw(st.sampled_from(US_STATES)) if buyer_country == "US" else "",
        vat_id=draw(st.sampled_from(["", "XX123456789"])),
        vat_id_valid=draw(st.booleans()),
        exemption_certificate=draw(st.sampled_from(["", "EX-1"])),
    )
    registrations = set(draw(st.frozensets(st.sampled_from(REGISTRABLE), max_size=3)))
    if country != "US":
        registrations.add(country)
    buyer_jurisdiction = tax.registration_jurisdiction(buyer.country, buyer.region)
    if buyer_jurisdiction in REGISTRABLE and draw(st.booleans()):
        registrations.add(buyer_jurisdiction)
    seller = tax.Seller(country, frozenset(registrations))
    return seller, buyer, draw(st.dates(date(2025, 8, 1), date(2026, 12, 31)))


class TestEveryCaseIsDecided:
    @settings(max_examples=500)
    @given(sales())
    def test_exactly_one_rule_decides_any_sale_and_its_rate_fits_its_category(self, sale):
        seller, buyer, on = sale

        facts = tax.facts_of(seller=seller, buyer=buyer, on=on, zones=taxdata.EU_MEMBERSHIP)
        rule = tax.rule_for(facts, taxdata.RULES)  # raises on no rule or a tie
        decision = decide(seller, buyer, on=on)

        assert decision.rule == rule.name
        assert (decision.rate > 0) == (decision.category_code == "S")
        assert decision.jurisdiction in (seller.country, tax.tax_jurisdiction(buyer.country, buyer.region))
