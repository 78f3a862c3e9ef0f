from o2c.core.exceptions import DomainError


class UnableToRunDunning(DomainError):
    pass


class UnableToRecordPromise(DomainError):
    pass


class UnableToSetTarget(DomainError):
    pass


class UnableToProposePlan(DomainError):
    pass


class UnableToDecidePlan(DomainError):
    pass


class UnableToLogActivity(DomainError):
    pass


class UnableToChangeDunningPlan(DomainError):
    pass


class UnableToClearAddress(DomainError):
    pass
