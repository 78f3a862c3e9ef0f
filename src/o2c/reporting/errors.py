from o2c.core.exceptions import DomainError


class UnableToReadPeriod(DomainError):
    pass
