from o2c.core.exceptions import DomainError


class UnableToOpenCase(DomainError):
    """A case the document, amount or reason does not allow."""


class UnableToChangeCase(DomainError):
    """A transition, assignment, note or attachment the case's state or the input does not allow."""


class UnableToResolveCase(DomainError):
    """A resolution the case's state, the document's open amount or the approval rules do not allow."""


class UnableToSetDisputePolicy(DomainError):
    """A reason mapping, reason policy or write-off threshold with a bad value."""
