from o2c.core.exceptions import DomainError


class UnableToClosePeriod(DomainError):
    pass


class UnableToRevalue(DomainError):
    pass


class UnableToProvision(DomainError):
    pass
