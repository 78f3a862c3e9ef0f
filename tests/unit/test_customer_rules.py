import pytest

from o2c.customers import rules
from o2c.customers.errors import UnableToSaveCustomer


class TestVatIds:
    @pytest.mark.parametrize(
        ("vat_id", "country", "expected"),
        [
            ("DE 136 695 976", "DE", "DE136695976"),
            ("FR40303265045", "FR", "FR40303265045"),
            ("ESB58378431", "ES", "ESB58378431"),
            ("GB980780684", "GB", "GB980780684"),
            ("136695976", "DE", "DE136695976"),
        ],
    )
    def test_valid_vat_ids_are_kept_in_compact_form_with_their_country_prefix(
        self, vat_id, country, expected
    ):
        assert rules.normalize_vat_id(vat_id, country) == expected

    def test_a_vat_id_with_a_wrong_check_digit_is_refused(self):
        with pytest.raises(UnableToSaveCustomer, match="'DE136695977' is not a valid VAT id"):
            rules.normalize_vat_id("DE136695977", "DE")

    def test_an_empty_vat_id_is_allowed(self):
        assert rules.normalize_vat_id("  ", "US") == ""


class TestBankDetails:
    def test_a_valid_iban_is_stored_compact(self):
        assert rules.normalize_iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"

    def test_an_iban_with_a_bad_checksum_is_refused(self):
        with pytest.raises(UnableToSaveCustomer, match="is not a valid IBAN"):
            rules.normalize_iban("DE89 3704 0044 0532 0130 01")

    def test_a_bad_bic_is_refused(self):
        with pytest.raises(UnableToSaveCustomer, match="is not a valid BIC"):
            rules.normalize_bic("XXXX")


class TestCodes:
    def test_country_language_and_currency_codes_are_normalized(self):
        assert rules.normalize_country(" de ") == "DE"
        assert rules.normalize_language("FR") == "fr"
        assert rules.normalize_currency("gbp") == "GBP"

    @pytest.mark.parametrize(
        ("call", "value"),
        [
            (rules.normalize_country, "XX"),
            (rules.normalize_country, "DEU"),
            (rules.normalize_language, "deu"),
            (rules.normalize_language, "xx"),
            (rules.normalize_currency, "EURO"),
        ],
    )
    def test_unknown_codes_are_refused(self, call, value):
        with pytest.raises(UnableToSaveCustomer):
            call(value)
