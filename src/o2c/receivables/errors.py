from o2c.core.exceptions import DomainError


class UnableToCreateDocument(DomainError):
    pass


class UnableToIssueDocument(DomainError):
    pass


class UnableToAllocate(DomainError):
    pass


class UnableToImportOpenItems(DomainError):
    pass
