"""The standard chart of accounts every new legal entity starts with (code, name, type)."""

from o2c.ledger.models import AccountType

STANDARD_CHART: tuple[tuple[str, str, str], ...] = (
    ("1000", "Bank", AccountType.BANK),
    ("1200", "Trade receivables", AccountType.RECEIVABLE),
    ("1209", "Receivables FX revaluation", AccountType.RECEIVABLE),
    ("1290", "Allowance for doubtful accounts", AccountType.OTHER),
    ("1590", "Migration clearing", AccountType.CLEARING),
    ("1600", "Payments in transit", AccountType.CLEARING),
    ("1610", "Currency conversion", AccountType.CLEARING),
    ("2100", "Unapplied cash", AccountType.UNAPPLIED_CASH),
    ("2300", "Deferred revenue", AccountType.DEFERRED_REVENUE),
    ("2500", "Output tax (VAT / sales tax)", AccountType.TAX),
    ("3000", "Equity and other", AccountType.OTHER),
    ("4000", "Revenue", AccountType.REVENUE),
    ("4830", "Late-payment interest and recovery fees", AccountType.OTHER),
    ("4900", "Early-payment discounts granted", AccountType.DISCOUNT),
    ("6800", "Small balance write-offs", AccountType.WRITE_OFF),
    ("6850", "Bank and card fees", AccountType.OTHER),
    ("6900", "Bad debt expense", AccountType.BAD_DEBT),
    ("7900", "Exchange differences", AccountType.FX),
    ("7910", "Unrealised exchange differences", AccountType.FX),
)

CARD_FEES = "6850"
"""Fees a card processor keeps out of its payouts (and bank charges not written off on an invoice)."""
PAYMENTS_IN_TRANSIT = "1600"
CURRENCY_CONVERSION = "1610"
"""Cash in one currency becoming another where a payment settles an invoice of another currency: each
currency's side nets out in the functional currency."""
RECEIVABLES_REVALUATION = "1209"
"""The month-end revaluation of open foreign-currency items (`close.revaluation`): functional amounts
only, so its transaction-currency balance is zero in every currency; with 1200 it is the receivables'
functional value at the month-end rate."""
UNREALISED_FX = "7910"
"""Unrealised exchange differences of the month-end revaluation (7900 keeps the realised ones and
rounding: it has the lower code and the lower id, so it stays the entity's default FX account)."""
ALLOWANCE = "1290"
"""The allowance for doubtful accounts of the expected-credit-loss provision (`close.provision`): a
contra-asset to the receivables, of type `other` and without customers, so the receivables per customer,
the tie-out and the rollforward do not see it."""
BAD_DEBT = "6900"
"""Bad debt expense: the month's expected-credit-loss provision is charged to it."""
LATE_CHARGES = "4830"
"""Late-payment interest and recovery fees charged to customers (`o2c dunning charge`): other income
(type `other`, so revenue stays what was sold); the debit memos' net posts here, not to 4000."""
