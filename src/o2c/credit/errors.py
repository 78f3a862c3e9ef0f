"""Credit's refusals, each with a stable code."""

from o2c.core.exceptions import DomainError


class UnableToSetLimit(DomainError):
    """A limit request, approval or rejection refused: `bad_amount`, `pending_exists`, `not_pending`,
    `maker_cannot_approve`, `reason_required`."""


class UnableToTakeOrder(DomainError):
    """An order refused at arrival: `unknown_customer`, `bad_amount`, `bad_currency`, `duplicate_order`."""


class UnableToDecideOrder(DomainError):
    """A release, rejection, recheck or move refused: `not_held`, `reason_required`, `unknown_order`,
    `not_movable`."""


class UnableToBlockCustomer(DomainError):
    """A block or unblock refused: `reason_required`, `already_blocked`, `not_blocked`."""
