from o2c.core.exceptions import DomainError


class UnableToImportBankFile(DomainError):
    """A bank file that reads well but cannot be imported (an unknown own account under the strict
    setting, an entity that cannot be told)."""


class UnableToApplyPayment(DomainError):
    """A person's or the matcher's application that the payment or the documents do not allow."""


class UnableToChangeMatchingPolicy(DomainError):
    """A matching policy value out of range (confidence, tolerance, grace days)."""


class UnableToReadAdvice(DomainError):
    """A remittance advice that cannot be read: the message names the file, row or column."""
