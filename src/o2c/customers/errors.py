from o2c.core.exceptions import DomainError


class UnableToSaveCustomer(DomainError):
    pass
