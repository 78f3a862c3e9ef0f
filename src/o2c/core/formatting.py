"""Human output in the reader's locale; machine output locale-free."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from o2c.core.money import currency_decimals


def locale_of(language: str, country: str) -> str:
    """The customer's locale: its language in its country where Babel knows that (de_CH formats
    amounts unlike de_DE), else the language alone."""
    for candidate in (f"{language}_{country.upper()}", language):
        try:
            return str(Locale.parse(candidate))
        except (ValueError, UnknownLocaleError):
            continue
    return "en"


WRITTEN_LANGUAGES = ("en", "de", "fr", "es")
"""The languages O2C writes to customers in (notices, statements, letters)."""


def customer_language(language: str) -> str:
    """The language O2C writes to a customer whose language is `language`: that language where O2C
    writes it (`de-AT`, `de_AT` and `DE` -> `de`), else English. One rule for the dunning notices and
    the statement of account."""
    code = language.replace("_", "-").split("-")[0].lower()
    return code if code in WRITTEN_LANGUAGES else "en"


def cli_locale() -> str:
    """The locale of the person at the terminal: O2C_LOCALE, else LC_ALL / LANG, else English."""
    for variable in ("O2C_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "").split(".")[0]
        if value and value not in {"C", "POSIX"}:
            try:
                return str(Locale.parse(value))
            except (ValueError, UnknownLocaleError):
                continue
    return "en"


def cli_language() -> str:
    """The interface language of the terminal's locale (de_AT -> de), English when O2C does not speak it."""
    from django.conf import settings

    language = cli_locale().split("_")[0]
    return language if language in dict(settings.LANGUAGES) else "en"


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-currency_decimals(currency))


def money_human(minor: int, currency: str, locale: str) -> str:
    return format_currency(minor_to_decimal(minor, currency), currency, locale=locale)


def amount_human(minor: int, currency: str, locale: str) -> str:
    decimals = currency_decimals(currency)
    return format_decimal(
        minor_to_decimal(minor, currency),
        format=f"#,##0.{'0' * decimals}" if decimals else "#,##0",
        locale=locale,
    )


def date_human(value: date, locale: str) -> str:
    return format_date(value, format="medium", locale=locale)
