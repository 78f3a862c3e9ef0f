import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from o2c.documents.references import rf_reference, rf_reference_body


class TestRfReference:
    def test_the_iso_11649_example_is_built_from_its_body(self):
        assert rf_reference("539007547034") == "RF18 5390 0754 7034"

    def test_the_iso_11649_example_is_valid(self):
        assert iso11649.is_valid("RF18 5390 0754 7034")

    def test_an_invoice_number_keeps_its_letters_and_digits_uppercased_in_groups_of_four(self):
        reference = rf_reference("inv-2026/000123")

        assert reference == "RF98 INV2 0260 0012 3"
        assert iso11649.is_valid(reference)

    def test_twenty_one_letters_and_digits_fit(self):
        reference = rf_reference("INV-2026-00000000000012")  # 21 letters and digits

        assert reference == "RF39 INV2 0260 0000 0000 0001 2"
        assert rf_reference_body(reference) == "INV202600000000000012"

    def test_a_number_longer_than_twenty_one_letters_and_digits_is_refused(self):
        with pytest.raises(ValueError, match="1 to 21 letters A-Z and digits"):
            rf_reference("INV-2026-000000000000123")  # 22 letters and digits

    @pytest.mark.parametrize("number", ["", "---", "RÉ-2026-1", "INV+2026"])
    def test_a_number_without_plain_letters_and_digits_is_refused(self, number):
        with pytest.raises(ValueError, match="cannot be an ISO 11649 reference"):
            rf_reference(number)


class TestRfReferenceBody:
    def test_the_body_of_the_iso_example_is_its_digits(self):
        assert rf_reference_body("RF18 5390 0754 7034") == "539007547034"

    def test_a_reference_typed_without_spaces_or_in_lowercase_is_read(self):
        assert rf_reference_body("rf18539007547034") == "539007547034"

    def test_wrong_check_digits_are_refused(self):
        with pytest.raises(ValueError, match="not a valid ISO 11649 reference"):
            rf_reference_body("RF17 5390 0754 7034")

    def test_a_reference_not_starting_with_rf_is_refused(self):
        with pytest.raises(ValueError, match="not a valid ISO 11649 reference"):
            rf_reference_body("XX18 5390 0754 7034")

    @given(st.from_regex(r"[0-9A-Z]{1,21}", fullmatch=True))
    def test_every_body_of_up_to_21_letters_and_digits_round_trips(self, body):
        reference = rf_reference(body)

        assert iso11649.is_valid(reference)
        assert rf_reference_body(reference) == body
