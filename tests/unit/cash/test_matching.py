"""Pure rules of the cash matcher: reference keys, RF references, names, subsets, discounts, confidence."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import iso11649

from o2c.cash import matching
from o2c.cash.matching import (
    DiscountPart,
    Evidence,
    SubsetResult,
    confidence,
    discount_due,
    discount_split,
    discount_tax_correction,
    document_reference_keys,
    name_score,
    normalize_name,
    reference_key,
    rf_reference_for,
    rf_references,
    text_reference_keys,
    unique_subset,
)
from o2c.documents.references import rf_reference


def matches(number: str, text: str) -> bool:
    return bool(document_reference_keys(number) & text_reference_keys(text))


class TestReferenceKeys:
    @pytest.mark.parametrize(
        ("number", "key"),
        [
            ("INV-2026-004711", "1NV20264711"),
            ("RE2026/00123", "RE2026123"),
            ("F-26-0042", "F2642"),
            ("100234", "100234"),
            ("inv 2026 4711", "1NV20264711"),
        ],
    )
    def test_a_key_folds_case_and_ocr_letters_and_strips_leading_zeros_of_each_digit_group(self, number, key):
        assert reference_key(number) == key

    def test_a_document_is_indexed_under_its_key_its_merged_forms_and_its_digits_alone(self):
        assert document_reference_keys("INV-2026-004711") == {
            "1NV20264711",
            "1NV202604711",
            "1NV2026004711",
            "1NV20260004711",
            "1NV202600004711",
            "20264711",
            "202604711",
            "2026004711",
            "20260004711",
            "202600004711",
        }

    def test_a_number_with_fewer_than_six_significant_digits_has_no_digits_alone_key(self):
        assert document_reference_keys("F-26-0042") == {"F2642", "F26042", "F260042", "F2600042", "F26000042"}

    @pytest.mark.parametrize("number", ["A-1", "F12", "", "---", "ABCD", "SOLO-BIZ"])
    def test_a_number_too_short_or_without_digits_has_no_keys(self, number):
        assert document_reference_keys(number) == frozenset()

    @pytest.mark.parametrize(
        ("text", "found", "not_found"),
        [
            (
                "Rechnung INV 2026 4711 und INV-2026-004712 abzgl. Skonto",
                ["INV-2026-004711", "INV-2026-004712"],
                ["INV-2026-004713", "INV-2026-004710"],
            ),
            ("RE.NR.2026/123 ,2026/124", ["RE2026/00123", "RE2026/00124"], ["RE2026/00125"]),
            ("inv# INV2026OO4711", ["INV-2026-004711"], ["INV-2026-004712"]),
            ("1NV-2026-0047l1", ["INV-2026-004711"], ["INV-2026-004717"]),
            ("Rg2026/004711 vom 03.11.2026", ["INV-2026-004711"], []),
            ("F 26 42", ["F-26-0042"], ["F-26-0043"]),
            ("Zahlung 100 234", ["100234"], ["100235"]),
            ("INV-2026-1 04711", ["INV-2026-104711"], ["INV-2026-004711"]),
        ],
    )
    def test_a_text_finds_the_documents_it_names_and_no_neighbours(self, text, found, not_found):
        assert [number for number in found if matches(number, text)] == found
        assert [number for number in not_found if matches(number, text)] == []

    @pytest.mark.parametrize(
        "text",
        [
            "1.234,50",
            "4711.00 EUR",
            "EUR 4.711,00",
            "2026-11-03",
            "03.11.2026",
            "11/03/26",
            "DE89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "Zahlung Miete Oktober Skonto abgezogen",
        ],
    )
    def test_amounts_dates_ibans_and_words_produce_no_key_of_a_document(self, text):
        for number in ["INV-2026-004711", "RE2026/00123", "F-26-0042", "100234", "INV-2026-001103", "4711"]:
            assert not matches(number, text), number

    def test_plain_words_yield_no_keys_at_all(self):
        assert text_reference_keys("Zahlung Miete Oktober Skonto abgezogen") == frozenset()

    def test_amounts_dates_and_a_valid_iban_are_masked(self):
        text = "Betrag 1.234,50 EUR am 2026-11-03 von DE89 3704 0044 0532 0130 00 Rechnung"

        assert [text[start:end] for start, end in matching.masked_spans(text)] == [
            "1.234,50",
            "2026-11-03",
            "DE89 3704 0044 0532 0130 00",
        ]

    def test_an_impossible_date_or_an_invalid_iban_is_not_masked(self):
        assert matching.masked_spans("2026-00-47 DE00 3704 0044 0532 0130 00") == []

    @pytest.mark.parametrize(
        "number", ["INV-2026-004711", "RE2026/00123", "F-26-0042", "100234", "SO-000123"]
    )
    def test_the_key_of_a_number_is_one_of_its_document_keys_and_found_in_its_own_text(self, number):
        assert reference_key(number) in document_reference_keys(number)
        assert reference_key(number) in text_reference_keys(f"Rechnung {number}")


# Series as O2C and imported systems number them: (format, largest number).
SERIES = {
    "inv": (lambda year, n: f"INV-{year}-{n:06d}", 999_999),
    "re": (lambda year, n: f"RE{year}/{n:05d}", 99_999),
    "f": (lambda year, n: f"F-{year % 100:02d}-{n:04d}", 9_999),
    "plain": (lambda year, n: f"{n + 100_000}", 899_999),
}
SEPARATORS = [" ", "-", "/", ".", "_", "#"]
OCR = {"0": "Oo", "1": "Il", "5": "S", "8": "B", "2": "Z", "I": "1l", "O": "0", "S": "5", "B": "8", "Z": "2"}
CONTEXTS = ["{}", "Rechnung {}", "inv# {}", "Zahlung für {} abzgl. Skonto", "Betrag 1.234,50 EUR {} danke"]


@st.composite
def series_numbers(draw: st.DrawFn) -> tuple[str, int, int]:
    series = draw(st.sampled_from(sorted(SERIES)))
    return series, draw(st.integers(2020, 2030)), draw(st.integers(1, SERIES[series][1]))


def written(series: str, year: int, n: int) -> str:
    return SERIES[series][0](year, n)


@st.composite
def zero_noise(draw: st.DrawFn, number: str) -> str:
    """Leading zeros of the number's own digit groups dropped (some or all) or added (one or two)."""

    def change(match: re.Match[str]) -> str:
        group = match[0]
        zeros = len(group) - len(group.lstrip("0"))
        action = draw(st.sampled_from(["keep", "drop", "add"]))
        if action == "drop" and zeros:
            return group[draw(st.integers(1, zeros)) :]
        if action == "add":
            return "0" * draw(st.integers(1, 2)) + group
        return group

    return re.sub(r"[0-9]+", change, number)


@st.composite
def separator_noise(draw: st.DrawFn, text: str, *, insert: bool) -> str:
    """Separators changed or removed, and (with `insert`) added anywhere inside the number."""
    for _ in range(draw(st.integers(0, 3))):
        positions = [i for i, ch in enumerate(text) if not ch.isalnum()]
        actions = ["change", "remove"] if positions else []
        action = draw(st.sampled_from([*actions, *(["insert"] if insert else [])] or ["none"]))
        if action == "insert":
            at = draw(st.integers(1, len(text) - 1)) if len(text) > 1 else 0
            text = text[:at] + draw(st.sampled_from(SEPARATORS)) + text[at:]
        elif action in ("change", "remove"):
            at = draw(st.sampled_from(positions))
            text = (
                text[:at] + (draw(st.sampled_from(SEPARATORS)) if action == "change" else "") + text[at + 1 :]
            )
    return text


@st.composite
def ocr_and_case_noise(draw: st.DrawFn, text: str) -> str:
    """Up to two characters misread (0/O, 1/I/l, 5/S, 8/B, 2/Z), then each letter's case at random."""
    for _ in range(draw(st.integers(0, 2))):
        positions = [i for i, ch in enumerate(text) if ch in OCR]
        if positions:
            at = draw(st.sampled_from(positions))
            text = text[:at] + draw(st.sampled_from(OCR[text[at]])) + text[at + 1 :]
    return "".join(ch.lower() if draw(st.booleans()) else ch for ch in text)


@st.composite
def noisy(draw: st.DrawFn, number: str, *, zeros: bool = True, insert: bool = True) -> str:
    text = draw(zero_noise(number)) if zeros else number
    text = draw(separator_noise(text, insert=insert))
    return draw(ocr_and_case_noise(text))


@st.composite
def remittance(draw: st.DrawFn, number_text: str) -> str:
    """The noisy number inside a payer's text; numbers the noise made look like an amount or a date
    ("1002.34", "2026-01-12 34") are masked on purpose and left out."""
    context = draw(st.sampled_from(CONTEXTS))
    start = context.index("{}")
    text = context.format(number_text)
    end = start + len(number_text)
    assume(
        all(span_end <= start or span_start >= end for span_start, span_end in matching.masked_spans(text))
    )
    return text


class TestReferenceKeyProperties:
    @settings(max_examples=400, deadline=None)
    @given(st.data(), series_numbers())
    def test_a_noisy_spelling_of_a_number_shares_a_key_with_it(self, data, drawn):
        number = written(*drawn)
        text = data.draw(remittance(data.draw(noisy(number))))

        assert document_reference_keys(number) & text_reference_keys(text), (number, text)

    @settings(max_examples=400, deadline=None)
    @given(st.data(), series_numbers())
    def test_a_number_of_the_same_series_differing_in_one_digit_never_shares_a_key(self, data, drawn):
        series, year, n = drawn
        number = written(series, year, n)
        digits = [i for i, ch in enumerate(number) if ch.isdigit()][-len(str(SERIES[series][1])) :]
        at = data.draw(st.sampled_from(digits))
        digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[at]]))
        neighbour = number[:at] + digit + number[at + 1 :]
        # Every noise but a separator inserted inside a digit group: "RE2020/001 01" also reads as
        # RE2020/001 followed by 01 (see test_a_separator_inside_a_digit_group_also_reads_as_...).
        text = data.draw(remittance(data.draw(noisy(neighbour, insert=False))))

        assert not document_reference_keys(number) & text_reference_keys(text), (number, text)

    @settings(max_examples=400, deadline=None)
    @given(st.data(), series_numbers(), st.integers(1, 999_999))
    def test_an_unrelated_number_of_the_same_series_never_shares_a_key(self, data, drawn, other):
        series, year, n = drawn
        other = other % SERIES[series][1] + 1
        assume(other != n)
        number = written(series, year, n)
        text = data.draw(
            remittance(data.draw(noisy(written(series, year, other), zeros=False, insert=False)))
        )

        assert not document_reference_keys(number) & text_reference_keys(text), (number, text)


class TestRfReferences:
    def test_the_iso_example_is_created_from_its_payload(self):
        assert rf_reference_for("539007547034") == "RF18539007547034"

    def test_letters_are_carried_and_separators_dropped(self):
        reference = rf_reference_for("inv-2026/000123")

        assert reference == "RF98INV2026000123"
        assert iso11649.is_valid(reference)

    @given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21))
    def test_every_created_reference_is_valid_and_the_one_documents_prints(self, payload):
        reference = rf_reference_for(payload)

        assert iso11649.is_valid(reference)
        assert reference == iso11649.compact(rf_reference(payload))
        assert rf_references(f"Zahlung {iso11649.format(reference)} danke") == [reference]

    @pytest.mark.parametrize("payload", ["", "---", "A" * 22, "RÉ-1", "INV+2026"])
    def test_a_payload_that_cannot_be_carried_is_refused(self, payload):
        with pytest.raises(ValueError, match="cannot be carried"):
            rf_reference_for(payload)

    def test_references_are_found_grouped_compact_or_lowercase_in_text_order_once_each(self):
        text = "RF18 5390 0754 7034 Rechnung, rf98inv2026000123; again RF18539007547034"

        assert rf_references(text) == ["RF18539007547034", "RF98INV2026000123"]

    def test_a_reference_printed_as_rf_and_one_compact_group_is_found(self):
        assert rf_references("Ref.: RF18 539007547034.") == ["RF18539007547034"]

    def test_a_reference_is_not_continued_by_the_next_word(self):
        assert rf_references("RF18 5390 0754 7034 Rechnung 4711") == ["RF18539007547034"]

    def test_a_reference_with_wrong_check_digits_or_inside_a_word_is_not_found(self):
        assert rf_references("RF17 5390 0754 7034 XRF18539007547034 RF18") == []


class TestNormalizeName:
    @pytest.mark.parametrize(
        ("name", "normalized"),
        [
            ("Müller GmbH", "MUELLER"),
            ("MUELLER GMBH", "MUELLER"),
            ("Weiß & Söhne GmbH & Co. KG", "WEISS AND SOEHNE"),
            ("Société Générale S.A.", "SOCIETE GENERALE"),
            ("Señor Ñandú S.L.", "SENOR NANDU"),
            ("Garçon SARL", "GARCON"),
            ("Jensen A/S", "JENSEN"),
            ("Kowalski sp. z o.o.", "KOWALSKI"),
            ("Meyer e.K.", "MEYER"),
            ("Acme Holdings Ltd.", "ACME HOLDINGS"),
            ("O'Brien & Co", "OBRIEN"),
            ("Rossi S.p.A.", "ROSSI"),
            ("Start UG (haftungsbeschränkt)", "START"),
            ("  Van   der  Berg B.V. ", "VAN DER BERG"),
            ("AG", "AG"),
        ],
    )
    def test_a_name_is_transliterated_stripped_of_legal_forms_and_punctuation(self, name, normalized):
        assert normalize_name(name) == normalized

    @pytest.mark.parametrize("connector", ["&", "und", "AND", "et", "y", "UND"])
    def test_every_connector_becomes_one_token(self, connector):
        assert normalize_name(f"Schmidt {connector} Partner") == "SCHMIDT AND PARTNER"


class TestNameScore:
    @pytest.mark.parametrize(
        ("payer", "customer"),
        [
            ("Müller GmbH", "MUELLER GMBH"),
            ("ACME CORP", "Acme Corporation"),
            ("MUELLER HANS", "Hans Müller"),
        ],
    )
    def test_the_same_name_written_differently_scores_100(self, payer, customer):
        assert name_score(payer, customer) == 100

    @pytest.mark.parametrize(
        ("payer", "customer"),
        [
            ("SOCIETE GENERALE DE DISTRIBUTION S", "Société Générale de Distribution S.A."),
            ("MUELLER MASCHINENBAU GMBH & CO. K", "Müller Maschinenbau GmbH & Co. KG"),
            ("INTERNATIONALE SPEDI", "Internationale Spedition Hamburg GmbH"),
        ],
    )
    def test_a_name_truncated_by_the_bank_scores_at_least_95(self, payer, customer):
        assert name_score(payer, customer) >= 95

    def test_a_short_prefix_is_not_taken_for_a_truncation(self):
        assert name_score("ACME", "Acme Holdings International") < 95

    def test_and_written_as_ampersand_or_und_scores_at_least_90(self):
        assert name_score("Schmidt & Söhne KG", "SCHMIDT UND SOEHNE") >= 90

    def test_different_names_with_the_same_legal_form_score_below_80(self):
        assert name_score("Acme Ltd", "Apex Ltd") < 80

    def test_a_name_contained_in_a_longer_one_scores_90(self):
        assert name_score("ACME", "ACME HOLDING") == 90

    def test_an_empty_name_scores_0(self):
        assert name_score("", "Acme") == 0


class TestUniqueSubset:
    def test_the_only_combination_is_returned_sorted(self):
        items = [(13, 2500), (10, 5000), (11, 7000), (12, 12345)]

        assert unique_subset(items, 14500) == SubsetResult(ids=(10, 11, 13), ambiguous=False, exhausted=False)

    def test_a_single_item_equal_to_the_target_is_a_combination(self):
        assert unique_subset([(1, 50000), (2, 30000)], 50000) == SubsetResult((1,), False, False)

    def test_no_combination_gives_none(self):
        assert unique_subset([(1, 50000), (2, 30000)], 70000) == SubsetResult(None, False, False)

    def test_two_equal_items_make_it_ambiguous(self):
        assert unique_subset([(1, 10000), (2, 10000), (3, 5000)], 15000) == SubsetResult(None, True, False)

    def test_one_item_against_two_others_is_ambiguous(self):
        assert unique_subset([(1, 100), (2, 200), (3, 300)], 300) == SubsetResult(None, True, False)

    def test_more_items_than_allowed_are_not_combined(self):
        items = [(i, 100) for i in range(1, 4)] + [(9, 1)]

        assert unique_subset(items, 300, max_items=2) == SubsetResult(None, False, False)

    def test_a_search_that_runs_out_of_steps_never_claims_uniqueness(self):
        # 60 even amounts and an odd target: no combination, and too many to rule out within the budget.
        items = [(i, 2000 + 2 * i) for i in range(60)]

        assert unique_subset(items, 6 * 2050 + 1) == SubsetResult(None, False, True)

    def test_a_found_combination_is_not_claimed_unique_when_the_budget_ran_out(self):
        # 60 even amounts and one odd: 21.18 + 0.01 is the only way to 21.19, found on the second step.
        items = [(i, 2000 + 2 * i) for i in range(60)] + [(60, 1)]

        assert unique_subset(items, 2119) == SubsetResult((59, 60), False, False)
        assert unique_subset(items, 2119, max_steps=50) == SubsetResult(None, False, True)

    def test_the_sum_must_be_exact_to_the_cent_among_many_items(self):
        # 40 items of 2**i EUR and one cent: the cents count the items, the euros say which ones.
        items = [(i, 2**i * 100 + 1) for i in range(40)]
        euros = 2**3 + 2**17 + 2**25 + 2**38

        assert unique_subset(items, euros * 100 + 4) == SubsetResult((3, 17, 25, 38), False, False)
        assert unique_subset(items, euros * 100 + 5) == SubsetResult(None, False, False)
        assert unique_subset(items, euros * 100 + 3) == SubsetResult(None, False, False)

    @pytest.mark.parametrize(
        ("items", "target"), [([(1, 100)], 0), ([(1, 0)], 100), ([(1, -5)], 100), ([(1, 100), (1, 200)], 100)]
    )
    def test_a_bad_target_amount_or_duplicate_id_is_refused(self, items, target):
        with pytest.raises(ValueError, match=r"positive|unique"):
            unique_subset(items, target)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.integers(1, 40), max_size=9),
        st.integers(1, 120),
        st.integers(1, 6),
    )
    def test_the_result_agrees_with_trying_every_combination(self, amounts, target, max_items):
        items = list(enumerate(amounts, start=1))
        combinations = [
            tuple(item_id for item_id, _ in combination)
            for size in range(1, max_items + 1)
            for combination in itertools.combinations(items, size)
            if sum(amount for _, amount in combination) == target
        ]

        result = unique_subset(items, target, max_items=max_items)

        assert not result.exhausted
        assert result.ambiguous == (len(combinations) > 1)
        assert result.ids == (combinations[0] if len(combinations) == 1 else None)

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.integers(1, 10_000_000), max_size=30), st.integers(1, 30_000_000), st.integers(1, 5_000)
    )
    def test_returned_ids_always_sum_to_the_target(self, amounts, target, max_steps):
        items = [(1000 + i, amount) for i, amount in enumerate(amounts)]

        result = unique_subset(items, target, max_steps=max_steps)

        if result.ids is not None:
            by_id = dict(items)
            assert sum(by_id[item_id] for item_id in result.ids) == target
            assert list(result.ids) == sorted(set(result.ids))
            assert not result.ambiguous and not result.exhausted


class TestDiscountDue:
    def test_two_percent_of_1190_is_23_80(self):
        assert discount_due(119000, 119000, Decimal(2), "EUR") == 2380

    def test_the_discount_is_capped_at_the_open_amount(self):
        assert discount_due(1000, 119000, Decimal(2), "EUR") == 1000

    def test_nothing_open_means_no_discount(self):
        assert discount_due(0, 119000, Decimal(2), "EUR") == 0

    def test_half_a_cent_rounds_up(self):
        assert discount_due(125, 125, Decimal(2), "EUR") == 3  # 0.025 -> 0.03

    @pytest.mark.parametrize(
        ("total", "percent", "currency", "discount"),
        [
            (12345, Decimal(2), "JPY", 247),
            (1234567, Decimal("2.5"), "BHD", 30864),
            (99999, Decimal(3), "EUR", 3000),
        ],
    )
    def test_the_discount_is_rounded_to_the_minor_unit_of_its_currency(
        self, total, percent, currency, discount
    ):
        assert discount_due(total, total, percent, currency) == discount

    def test_a_negative_percent_is_refused(self):
        with pytest.raises(ValueError, match="non-negative"):
            discount_due(100, 100, Decimal(-1), "EUR")


class TestDiscountTaxCorrection:
    def test_the_worked_example_23_80_holds_3_80_vat_and_20_00_net(self):
        discount = discount_due(119000, 119000, Decimal(2), "EUR")

        assert discount == 2380
        assert discount_tax_correction(discount, [(Decimal(19), 100000, 19000)]) == [(Decimal(19), 380)]
        assert discount_split(discount, [(Decimal(19), 100000, 19000)]) == [
            DiscountPart(rate=Decimal(19), gross_minor=2380, tax_minor=380, net_minor=2000)
        ]

    def test_two_rates_share_the_discount_by_their_gross(self):
        lines = [(Decimal(19), 100000, 19000), (Decimal(7), 50000, 3500)]

        assert discount_tax_correction(3450, lines) == [(Decimal(19), 380), (Decimal(7), 70)]

    def test_the_cent_left_over_goes_to_the_largest_remainder_and_the_parts_sum_exactly(self):
        lines = [(Decimal(19), 100000, 19000), (Decimal(7), 50000, 3500)]

        parts = discount_split(1001, lines)

        # 1001 x 119000/172500 = 690.54 and x 53500/172500 = 310.46: the cent goes to 19 %.
        assert parts == [
            DiscountPart(Decimal(19), gross_minor=691, tax_minor=110, net_minor=581),
            DiscountPart(Decimal(7), gross_minor=310, tax_minor=20, net_minor=290),
        ]
        assert sum(part.gross_minor for part in parts) == 1001
        assert all(part.tax_minor + part.net_minor == part.gross_minor for part in parts)

    def test_a_zero_rate_line_takes_its_share_without_vat(self):
        lines = [(Decimal(19), 100000, 19000), (Decimal(0), 20000, 0)]

        assert discount_tax_correction(1000, lines) == [(Decimal(19), 137), (Decimal(0), 0)]

    def test_no_tax_lines_give_no_correction(self):
        assert discount_tax_correction(2380, []) == []


class TestConfidence:
    @pytest.mark.parametrize(
        ("weights", "expected"),
        [
            ([90, 60], "0.960"),
            ([], "0.000"),
            ([50], "0.500"),
            ([100, 10], "1.000"),
            ([0, 0], "0.000"),
            ([33, 33, 33], "0.699"),
            ([15, 5], "0.193"),  # 0.1925 rounds half-up
        ],
    )
    def test_independent_evidence_combines_as_one_minus_the_product_of_doubts(self, weights, expected):
        evidence = [Evidence(kind="reference", weight=weight, text="") for weight in weights]

        assert confidence(evidence) == Decimal(expected)
        assert str(confidence(evidence)) == expected

    @pytest.mark.parametrize("weight", [-1, 101])
    def test_a_weight_outside_0_to_100_is_refused(self, weight):
        with pytest.raises(ValueError, match=r"0\.\.100"):
            Evidence(kind="name", weight=weight, text="Müller")
