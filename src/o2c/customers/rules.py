"""Validation of customer master data: pure functions, no queries."""

from __future__ import annotations

from babel import Locale
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError

from o2c.core.money import ensure_currency
from o2c.customers.errors import UnableToSaveCustomer
from o2c.customers.terms import parse_terms

_COUNTRIES = frozenset(
    code for code in Locale("en").territories if isinstance(code, str) and len(code) == 2 and code.isalpha()
)


def normalize_country(country: str) -> str:
    value = country.strip().upper()
    if value not in _COUNTRIES:
        raise UnableToSaveCustomer(f"'{country}' is not an ISO 3166 country code", code="bad_country")
    return value


_LANGUAGES = frozenset(
    code for code in Locale("en").languages if isinstance(code, str) and len(code) == 2 and code.isalpha()
)


def normalize_language(language: str) -> str:
    value = language.strip().lower()
    if value not in _LANGUAGES:
        raise UnableToSaveCustomer(f"'{language}' is not an ISO 639-1 language code", code="bad_language")
    return value


def normalize_currency(currency: str) -> str:
    value = currency.strip().upper()
    try:
        return ensure_currency(value)
    except Exception:
        raise UnableToSaveCustomer(f"'{currency}' is not an ISO 4217 currency", code="bad_currency") from None


def normalize_terms(code: str) -> str:
    try:
        return parse_terms(code).code
    except Exception as error:
        raise UnableToSaveCustomer(str(error), code="bad_terms") from None


def normalize_customer_type(code: str) -> str:
    """A segment code in one spelling: lower case, words joined by underscores (Key Account: key_account)."""
    value = "_".join(code.strip().lower().replace("-", " ").split())
    if len(value) > 30 or not all(char.isalnum() or char == "_" for char in value):
        raise UnableToSaveCustomer(
            f"'{code.strip()}' is not a customer type (letters, digits and underscores, at most 30)",
            code="bad_customer_type",
        )
    return value


def normalize_vat_id(vat_id: str, country: str) -> str:
    """A VAT id validated with python-stdnum for its country prefix (or the customer's country)."""
    value = vat_id.strip().upper().replace(" ", "").replace(".", "").replace("-", "")
    if not value:
        return ""
    prefix = value[:2] if value[:2].isalpha() else country
    module_country = {"EL": "gr", "XI": "gb"}.get(prefix, prefix).lower()
    module = get_cc_module(module_country, "vat")
    if module is None:
        raise UnableToSaveCustomer(f"'{vat_id}': no VAT id rules for country {prefix}", code="bad_vat_id")
    try:
        compact = str(module.validate(value))
    except ValidationError as error:
        raise UnableToSaveCustomer(f"'{vat_id}' is not a valid VAT id ({error})", code="bad_vat_id") from None
    # stdnum's compact form drops the country prefix; the VAT id on an invoice keeps it
    return compact if compact[:2].isalpha() and compact[:2] == prefix else f"{prefix}{compact}"


def normalize_iban(iban: str) -> str:
    try:
        return str(IBAN(iban).compact)
    except SchwiftyException as error:
        raise UnableToSaveCustomer(f"'{iban}' is not a valid IBAN ({error})", code="bad_iban") from None


def normalize_bic(bic: str) -> str:
    if not bic.strip():
        return ""
    try:
        return str(BIC(bic).compact)
    except SchwiftyException as error:
        raise UnableToSaveCustomer(f"'{bic}' is not a valid BIC ({error})", code="bad_bic") from None
