from o2c.core.exceptions import DomainError


class UnableToPostJournalEntry(DomainError):
    pass


class UnableToReverseJournalEntry(DomainError):
    pass


class UnableToConvertCurrency(DomainError):
    pass


class UnableToSetUpEntity(DomainError):
    pass


class UnableToChangePeriod(DomainError):
    pass
