"""What every bank file format reads into: statements of entries with their transactions and balances.

camt.053/054, BAI2 and MT940 (and lockbox and CSV files, as one statement each) all become these frozen
dataclasses, so the importer and the matcher never care which format a payment came in. Balance codes
are ISO 20022's (OPBD, PRCD, CLBD, CLAV, ...): the BAI2 and MT940 readers map their own to them.
Money is `Decimal` with its currency; signed amounts are credit (money in) positive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD",)
BOOKED = "BOOK"


@dataclass(frozen=True, slots=True)
class Balance:
    code: str
    """ISO balance type code (OPBD, PRCD, CLBD, CLAV, ITBD, ...) or the bank's proprietary one."""
    amount: Decimal
    """Signed: CRDT positive, DBIT negative."""
    currency: str
    balance_date: date | None


@dataclass(frozen=True, slots=True)
class RemittedDocument:
    """One document a payer says a payment settles: a lockbox stub line, a camt RfrdDocInf with its
    amounts, a line of a remittance advice."""

    number: str
    """The invoice (or credit memo) number as the payer wrote it."""
    amount: Decimal | None = None
    """What the payer pays on it (RmtdAmt); None when not given."""
    discount: Decimal | None = None
    """Early-payment discount the payer took on it."""
    deduction: Decimal | None = None
    """What the payer held back on it (a short pay), with `reason` when given."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Charge:
    """One charge the bank states on an entry or a transaction: a camt `Chrgs/Rcrd` (camt .02: a `Chrgs`),
    or a `Chrgs/TtlChrgsAndTaxAmt` given without records."""

    amount: Decimal
    """Signed like the entries: a charge to the account holder (DBIT, and when the bank gives no
    CdtDbtInd) negative, a charge credited back positive."""
    currency: str
    included: bool | None = None
    """ChrgInclInd: True when the charge is in the entry's amount, False when the bank books it apart;
    None when the file does not say."""
    type_code: str | None = None
    """Tp/Cd, else Tp/Prtry/Id, as written."""


@dataclass(frozen=True, slots=True)
class TransactionDetails:
    """One `TxDtls` of an entry: a single payment, or one payment of a batch entry."""

    is_credit: bool
    """Money in: from the transaction's own CdtDbtInd, else from its entry's."""
    amount: Decimal | None
    """Signed by `is_credit`; None when the bank gives no amount per transaction."""
    currency: str | None
    bank_reference: str | None
    """Refs/AcctSvcrRef of the transaction."""
    end_to_end_id: str | None
    """As in the file, including the SEPA placeholder NOTPROVIDED."""
    counterparty_name: str | None
    """The debtor of a credit, the creditor of a debit."""
    counterparty_iban: str | None
    remittance_unstructured: tuple[str, ...]
    remittance_structured_refs: tuple[str, ...]
    """CdtrRefInf/Ref of each structured remittance block (RF creditor references, ISR, OCR...)."""
    counterparty_account: str | None = None
    """The counterparty's account when it is not an IBAN (a US account number, an MT940 :86: account)."""
    return_reason: str | None = None
    """Why a payment came back: the ISO reason code of camt RtrInf/Rsn/Cd (AC04, MD06, ...) or the
    text code the bank gives."""
    remitted: tuple[RemittedDocument, ...] = ()
    """Documents the payer names with their amounts (structured remittance, lockbox stubs)."""
    kind: str = "payment"
    """payment; for card payouts also fee, refund, chargeback, adjustment (each a part of the net)."""
    charges: tuple[Charge, ...] = ()
    """The charges the bank states on this transaction (camt TxDtls/Chrgs)."""
    original_amount: Decimal | None = None
    """The amount of the underlying payment as the bank states it, unsigned, in the entry's currency
    (camt AmtDtls/InstdAmt, else AmtDtls/TxAmt): for a return, the payment it gives back without the
    bank's charges. None when not stated (or only in another currency)."""
    dispute_reason: str | None = None
    """Why a card payment was disputed, as the processor writes it (Stripe `dispute_reason`: fraudulent,
    product_not_received, ...). Not a `return_reason`: a card payout entry is not a bank return; the
    chargeback in it is handled by its charge id (`end_to_end_id`)."""


@dataclass(frozen=True, slots=True)
class Entry:
    position: int
    """1-based, in file order across all statements of the file."""
    amount: Decimal
    """Signed: credit (money in) positive, debit negative. A reversal keeps the sign of its own booking."""
    currency: str
    booking_date: date | None
    booked_at: datetime | None
    """Only when the bank gives a date and time (BookgDt/DtTm); `booking_date` is then its date as written."""
    value_date: date | None
    status: str | None
    """BOOK, PDNG, INFO or the bank's code, as written."""
    entry_reference: str | None
    """NtryRef."""
    bank_reference: str | None
    """AcctSvcrRef: the bank's own reference of the entry."""
    bank_transaction_code: str | None
    """ISO domain code as DOMAIN-FAMILY-SUBFAMILY, e.g. PMNT-RCDT-ESCT."""
    proprietary_bank_transaction_code: str | None
    is_reversal: bool
    batch_count: int | None
    """Btch/NbOfTxs when the entry books a batch."""
    details: tuple[TransactionDetails, ...]
    charges: tuple[Charge, ...] = ()
    """The charges the bank states on the entry itself (camt Ntry/Chrgs)."""

    @property
    def _only(self) -> TransactionDetails | None:
        return self.details[0] if len(self.details) == 1 else None

    @property
    def end_to_end_id(self) -> str | None:
        """From the entry's only transaction; None for a batch of several."""
        return self._only.end_to_end_id if self._only else None

    @property
    def counterparty_name(self) -> str | None:
        """From the entry's only transaction; None for a batch of several."""
        return self._only.counterparty_name if self._only else None

    @property
    def counterparty_iban(self) -> str | None:
        """From the entry's only transaction; None for a batch of several."""
        return self._only.counterparty_iban if self._only else None

    @property
    def remittance_unstructured(self) -> tuple[str, ...]:
        """Every Ustrd line of every transaction of the entry, in file order."""
        return tuple(line for detail in self.details for line in detail.remittance_unstructured)

    @property
    def remittance_structured_refs(self) -> tuple[str, ...]:
        """Every CdtrRefInf/Ref of every transaction of the entry, in file order."""
        return tuple(ref for detail in self.details for ref in detail.remittance_structured_refs)


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's statement in a file: a camt Stmt/Ntfctn/Rpt, a BAI2 account (03-49 group), an MT940
    message (:20: to :62:)."""

    message: str
    """camt.052, camt.053, camt.054, bai2 or mt940."""
    version: int | None
    """camt: 2 to 8 (the .001.0N of the namespace), None for a national variant whose namespace names none;
    BAI2: the file header's version (2); MT940: None."""
    namespace: str
    """camt: the XML namespace; empty for the text formats."""
    message_id: str | None
    """camt: GrpHdr/MsgId, shared by all statements of the file; BAI2: sender, file creation date/time and
    file id of the 01 record; MT940: the transaction reference of :20:."""
    statement_id: str
    """camt: Stmt/Id; BAI2: the group's as-of date and account number; MT940: the :28C: statement number."""
    account_iban: str | None
    account_other_id: str | None
    """BAI2: the 03 record's account number; MT940: the :25: account when it is not an IBAN."""
    currency: str | None
    """Acct/Ccy when the bank gives it."""
    opening_balance: Decimal | None
    """OPBD, else PRCD; signed."""
    closing_balance: Decimal | None
    """CLBD; signed."""
    created_at: datetime | None
    """CreDtTm as written: naive when the bank gives no offset."""
    balances: tuple[Balance, ...]
    entries: tuple[Entry, ...]
    page_number: int | None = None
    """camt: the statement's page (StmtPgntn/PgNb, RptPgntn, NtfctnPgntn; else GrpHdr/MsgPgntn) when the
    bank splits a statement over several messages; None when it does not say."""
    last_page: bool | None = None
    """camt: LastPgInd of that pagination."""
    copy_indicator: str | None = None
    """camt: CpyDplctInd: CODU (copy duplicate), COPY (copy) or DUPL (duplicate) of a statement sent
    before; None for an original."""


def booked_total(statement: Statement) -> Decimal | None:
    """The sum of the statement's booked entries (signed); None when they are in more than one
    currency."""
    booked = [entry for entry in statement.entries if entry.status in (BOOKED, None)]
    if len({entry.currency for entry in booked}) > 1:
        return None
    return sum((entry.amount for entry in booked), Decimal(0))


def balance_difference(statement: Statement) -> Decimal | None:
    """closing − (opening + booked entries): zero when the statement balances.

    None when it cannot be told: no opening or closing booked balance, or balances and entries in more
    than one currency. An imbalance is for the importer to warn about; it is never a parse error (many
    banks' and test files' statements do not balance). Entries not booked (PDNG, INFO) do not count.
    """
    opening = first_balance(statement.balances, OPENING_CODES)
    closing = first_balance(statement.balances, CLOSING_CODES)
    if opening is None or closing is None:
        return None
    booked = [entry for entry in statement.entries if entry.status in (BOOKED, None)]
    currencies = {opening.currency, closing.currency} | {entry.currency for entry in booked}
    if len(currencies) != 1:
        return None
    return closing.amount - (opening.amount + sum((entry.amount for entry in booked), Decimal(0)))


def first_balance(balances: tuple[Balance, ...], codes: tuple[str, ...]) -> Balance | None:
    for code in codes:
        for balance in balances:
            if balance.code == code:
                return balance
    return None


def iter_entries(statements: list[Statement]) -> Iterator[Entry]:
    """Every entry of a file, in file order."""
    for statement in statements:
        yield from statement.entries
