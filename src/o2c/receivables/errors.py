from o2c.core.exceptions import DomainError


class UnableToCreateDocument(DomainError):
    pass


class UnableToIssueDocument(DomainError):
    pass


class UnableToAllocate(DomainError):
    pass


class UnableToImportOpenItems(DomainError):
    pass


class UnableToDecideApproval(DomainError):
    """Maker-checker refusals: `same_person` (the maker cannot approve or reject their own credit
    memo), `not_pending`, `approver_required`, `reason_required`."""


class UnableToSetApprovalPolicy(DomainError):
    pass
