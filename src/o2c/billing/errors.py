from o2c.core.exceptions import DomainError


class UnableToBill(DomainError):
    pass


class UnableToSaveBillingData(DomainError):
    """A product, subscription or usage record that cannot be saved; names the record and field."""

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None, code: str) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.row = row
