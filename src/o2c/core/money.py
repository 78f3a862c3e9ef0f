"""Money: a Decimal amount with its ISO 4217 currency.

Amounts are stored as integer minor units; every rounding is an explicit, named decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from o2c.core.exceptions import DomainError


class UnableToHandleMoney(DomainError):
    pass


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def currency_decimals(currency: str) -> int:
    """Minor-unit digits of a currency from CLDR (EUR 2, JPY 0, BHD 3)."""
    ensure_currency(currency)
    return int(get_currency_precision(currency))


def ensure_currency(currency: str) -> str:
    if currency not in known_currencies():
        raise UnableToHandleMoney(f"unknown currency '{currency}'", code="unknown_currency")
    return currency


@cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_decimals(currency))


def parse_amount(text: str, currency: str) -> Decimal:
    """Parse a locale-free decimal string with at most the currency's decimals."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UnableToHandleMoney(f"'{text}' is not an amount", code="bad_amount") from None
    if not value.is_finite():
        raise UnableToHandleMoney(f"'{text}' is not an amount", code="bad_amount")
    if value != value.quantize(_quantum(currency), rounding=ROUND_HALF_UP):
        raise UnableToHandleMoney(
            f"'{text}' has more decimals than {currency} allows ({currency_decimals(currency)})",
            code="too_many_decimals",
        )
    return value


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        ensure_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(Decimal(minor).scaleb(-currency_decimals(currency)), currency)

    def to_minor(self) -> int:
        """Integer minor units; refuses an amount that was not rounded first."""
        scaled = self.amount.scaleb(currency_decimals(self.currency))
        if scaled != scaled.to_integral_value():
            raise UnableToHandleMoney(
                f"{self.amount} {self.currency} is not rounded to the minor unit", code="not_rounded"
            )
        return int(scaled)

    def round_half_up(self) -> Money:
        """Commercial rounding (half away from zero), as invoices and tax authorities expect."""
        return Money(self.amount.quantize(_quantum(self.currency), rounding=ROUND_HALF_UP), self.currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise UnableToHandleMoney(
                f"cannot combine {self.currency} and {other.currency}", code="currency_mismatch"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def plain(self) -> str:
        """Locale-free string with the currency's decimals (machine output)."""
        return format_minor(self.round_half_up().to_minor(), self.currency)


def format_minor(minor: int, currency: str) -> str:
    """Locale-free decimal string of minor units: 123450 EUR -> '1234.50', 0 -> '0.00'."""
    decimals = currency_decimals(currency)
    return str(Decimal(minor).scaleb(-decimals).quantize(_quantum(currency)))


def format_with_currency(minor: int | None, currency: str) -> str | None:
    """'1234.50 EUR': how the audit trail records an amount, readable without knowing the currency."""
    return None if minor is None else f"{format_minor(minor, currency)} {currency}"


def to_minor(amount: Decimal, currency: str) -> int:
    return Money(amount, currency).to_minor()


def allocate(total_minor: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Split integer minor units by weights with the largest-remainder method.

    The parts always sum to the total; ties go to the earlier weight, so the result is deterministic.
    """
    if not weights:
        raise UnableToHandleMoney("nothing to allocate to", code="no_weights")
    weight_sum = sum((Decimal(w) for w in weights), Decimal(0))
    if weight_sum == 0 or any(Decimal(w) < 0 for w in weights):
        raise UnableToHandleMoney("weights must be non-negative and not all zero", code="bad_weights")
    sign = -1 if total_minor < 0 else 1
    magnitude = abs(total_minor)
    exact = [Decimal(magnitude) * Decimal(w) / weight_sum for w in weights]
    floors = [int(e) for e in exact]
    remainder = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:remainder]:
        floors[i] += 1
    return [sign * part for part in floors]
