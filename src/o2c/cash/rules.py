"""Pure rules of cash import: what kind of payment an entry is, and what makes it the same entry again.

No queries, no clock: statement entries (bankfiles' model) in, plain values out.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from o2c.bankfiles.statement import Entry, Statement

# placeholders banks write where they have no reference: never a key
NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED", "NONE", "N/A", "NA"})

# ISO 20022 bank transaction codes (domain-family-subfamily), by family and subfamily
_ISO_FAMILY_METHODS = {
    "RCHQ": "check",
    "CCRD": "card",
    "MCRD": "card",
    "RDDT": "sepa_direct_debit",
}
_ISO_SUBFAMILY_METHODS = {
    "ESCT": "sepa_credit_transfer",
    "SDVA": "sepa_credit_transfer",
    "XBCT": "wire",
    "DMCT": "wire",
    "BOOK": "wire",
    "ATXN": "ach",
    "ACDT": "ach",
    "PMDD": "sepa_direct_debit",
    "ESDD": "sepa_direct_debit",
    "BBDD": "sepa_direct_debit",
    "UPDD": "sepa_direct_debit_return",
    "RPCR": "sepa_direct_debit_return",
    "CCHQ": "check",
    "BCHQ": "check",
    "CDPT": "check",
}
# BAI2 type codes (credits) -> method
_BAI_METHODS = {
    **dict.fromkeys(("142", "143", "145", "165", "166", "169", "171", "172", "173", "174"), "ach"),
    **dict.fromkeys(("191", "195", "196", "198", "206", "208", "213", "214"), "wire"),
    **dict.fromkeys(("115", "116", "118", "121", "122", "301", "302", "303", "304", "306"), "check"),
    **dict.fromkeys(("555",), "check"),
}
# German GVC codes of MT940 :86: (credits)
_GVC_METHODS = {
    "051": "wire",
    "052": "wire",
    "053": "wire",
    "166": "sepa_credit_transfer",
    "153": "sepa_credit_transfer",
    "159": "sepa_direct_debit_return",
    "109": "sepa_direct_debit_return",
    "070": "check",
    "071": "check",
}
_MESSAGE_METHODS = {"lockbox": "check", "card_payout": "card"}


def payment_method(entry: Entry, message: str) -> str:
    """The payment method an entry's format and bank codes tell; `other` when they do not."""
    if message in _MESSAGE_METHODS:
        return _MESSAGE_METHODS[message]
    code = (entry.bank_transaction_code or "").upper()
    if code.startswith("BAI"):
        return _BAI_METHODS.get(code[3:], "other")
    parts = code.split("-")
    if len(parts) == 3:
        family, subfamily = parts[1], parts[2]
        if subfamily in _ISO_SUBFAMILY_METHODS:
            return _ISO_SUBFAMILY_METHODS[subfamily]
        if family in _ISO_FAMILY_METHODS:
            return _ISO_FAMILY_METHODS[family]
        return "other"
    gvc = (entry.proprietary_bank_transaction_code or "").strip()
    if gvc in _GVC_METHODS:
        return _GVC_METHODS[gvc]
    if message == "mt940" and entry.end_to_end_id:
        return "sepa_credit_transfer"
    return "other"


def has_reference(reference: str | None) -> bool:
    return (reference or "").strip().upper() not in NO_REFERENCE


def remittance_text(entry: Entry) -> str:
    return " ".join(line.strip() for line in entry.remittance_unstructured if line.strip())


_LABEL = re.compile(
    r"(?:^|\s{2}|,\s?|\s(?=(?:ORIG ID|ORIG BK|ENTRY DESCR|IND NAME|IND ID|SEC|BNF|OBI|PMT DET|TRN)\s?:))"
    r"([A-Z][A-Z/]*(?: [A-Z][A-Z/]*){0,3})\s?:(?!/)"
)
_NOT_REMITTANCE: frozenset[str] = frozenset(
    {
        "ORIG CO NAME", "ORIG ID", "ORIG BK", "ORIG ACCT", "ORIGINATOR", "ENTRY DESCR", "DESCR DATE",
        "EFF DATE", "SEC", "IND NAME", "IND ID", "BNF", "BNF BK", "TRACE", "TRN", "CO ID", "CO NAME",
        "BY ORDER OF", "B/O", "RECEIVER", "SND BK", "ORDERING CUSTOMER",
    }
)  # fmt: skip
"""Labelled parts of US bank texts (ACH addenda, Fedwire) that name parties, ids and dates: the payer is
read from them by the format's reader; the references are in the others (PMT DET, OBI, RMR, REF)."""


def matching_text(text: str) -> str:
    """The part of a payment's text that may name what it pays: labelled party, id and date parts
    dropped ("ORIG CO NAME:ACME  ORIG ID:1829550760 ... PMT DET:INV-2026-4711" -> "INV-2026-4711"); a
    text without such labels as it is."""
    labels = list(_LABEL.finditer(text))
    if not any(match[1] in _NOT_REMITTANCE for match in labels):
        return text
    kept = [text[: labels[0].start(1)]]
    for match, following in zip(labels, [*labels[1:], None], strict=True):
        value = text[match.end() : following.start(1) if following else len(text)]
        if match[1] not in _NOT_REMITTANCE:
            kept.append(value)
        elif ", " in value:
            kept.append(value.split(", ", 1)[1])  # free text after a party's name or id
    return " ".join(" ".join(kept).split())


def dedupe_keys(entries: Sequence[Entry]) -> list[str]:
    """What identifies each entry on its account across files: the bank's own reference when it gives
    one, else a fingerprint of value date, amount, counterparty and text, numbered by occurrence among
    identical entries of the file (two equal payments on one day stay two; the same file or an overlapping
    statement imported again yields the same keys)."""
    seen: Counter[str] = Counter()
    keys = []
    for entry in entries:
        if has_reference(entry.bank_reference):
            # a batch's transactions can share the entry's reference with other entries: keep the amount
            keys.append(f"ref:{entry.bank_reference}:{entry.amount}")
            continue
        fingerprint = "|".join(
            (
                (entry.value_date or entry.booking_date or "").__str__(),
                str(entry.amount),
                entry.currency,
                (entry.counterparty_iban or entry.counterparty_name or "").upper(),
                remittance_text(entry).upper(),
                entry.end_to_end_id or "",
            )
        )
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:40]
        seen[digest] += 1
        keys.append(f"fp:{digest}:{seen[digest]}")
    return keys


_RETURN_SUBFAMILIES = {"RRTN", "UPDD", "RPCR", "ARET", "RCHQ", "UPCQ"}
"""ISO bank transaction subfamilies of money coming back: reversal due to a return, unpaid direct
debit, reversal on a cancellation request, returned or unpaid cheque."""
_RETURN_BAI_TYPES = {"555", "556", "557"}
"""BAI2 type codes of deposited items returned (cheques bounced) and their re-presentments."""
_RETURN_GVC = {"108", "109", "159", "111"}
"""German business transaction codes (:86:) of SEPA returns: direct debit returns, credit transfer
returns."""


def is_return(entry: Entry) -> bool:
    """A booked debit that gives back a payment received: a return reason, or a returns bank code."""
    if entry.amount >= 0 or entry.status not in ("BOOK", None):
        return False
    if any(details.return_reason for details in entry.details):
        return True
    code = (entry.bank_transaction_code or "").upper()
    if code.startswith("BAI"):
        return code[3:] in _RETURN_BAI_TYPES
    parts = code.split("-")
    if len(parts) == 3 and parts[2] in _RETURN_SUBFAMILIES:
        return True
    return (entry.proprietary_bank_transaction_code or "").strip() in _RETURN_GVC


def return_reason(entry: Entry) -> str:
    found = next((details.return_reason for details in entry.details if details.return_reason), None)
    return (found or entry.bank_transaction_code or "returned")[:140]


@dataclass(frozen=True, slots=True)
class ReturnFigures:
    """What a return entry says about its money (positive amounts in the entry's currency)."""

    debited: Decimal
    """What left the account with the entry: the original payment and the bank's charges in it."""
    originals: tuple[Decimal, ...]
    """The amounts the original payment may have had, the surest first: the one the file states
    (AmtDtls), the debit less the charges it states as (or does not say are not) in the entry, the debit
    itself (the bank took no charge, or took it from the money returned, or booked it apart)."""
    charges_apart: Decimal
    """Charges the bank states for the return but books apart (ChrgInclInd false): not in this entry."""


def return_figures(entry: Entry) -> ReturnFigures:
    """The debit, the original amounts to look for and the charges booked apart of a return entry. Charges
    are the only transaction's (TxDtls/Chrgs), else the entry's (Ntry/Chrgs), in the entry's currency."""
    debited = -entry.amount
    only = entry.details[0] if len(entry.details) == 1 else None
    stated = (only.charges if only is not None and only.charges else ()) or entry.charges
    charges = [charge for charge in stated if charge.currency == entry.currency]
    candidates = []
    if only is not None and only.original_amount:
        candidates.append(only.original_amount)
    in_entry = [charge.amount for charge in charges if charge.included is not False]
    if any(in_entry):
        # a charge is negative (a debit): the original is the debit less what the bank took with it
        candidates.append(debited + sum(in_entry, Decimal(0)))
    candidates.append(debited)
    apart = -sum((charge.amount for charge in charges if charge.included is False), Decimal(0))
    return ReturnFigures(
        debited=debited,
        originals=tuple(dict.fromkeys(amount for amount in candidates if amount > 0)),
        charges_apart=max(apart, Decimal(0)),
    )


RETURN_FEE_CHARGES = ("none", "bank_fee", "fixed", "bank_fee_plus_fixed")
"""What a customer is charged for a returned payment (`MatchingPolicy.return_fee_charge`)."""


def return_fees_to_charge(
    *, charge: str, bank_fee_minor: int, fixed_minor: int, fixed_currency: str, currency: str
) -> tuple[int, int]:
    """(the bank's fee, the own fixed fee) a customer is charged for a returned payment, in minor units
    of the payment's currency. The bank's fee only when it took one; the fixed fee only in the policy's
    currency (no rate is guessed for another)."""
    bank = max(bank_fee_minor, 0) if charge in ("bank_fee", "bank_fee_plus_fixed") else 0
    fixed = fixed_minor if charge in ("fixed", "bank_fee_plus_fixed") and fixed_currency == currency else 0
    return bank, max(fixed, 0)


def incoming_entries(statement: Statement) -> list[Entry]:
    """The entries that are cash received: booked (or of no status) credits that are not reversals."""
    return [
        entry
        for entry in statement.entries
        if entry.amount > 0 and entry.status in ("BOOK", None) and not entry.is_reversal
    ]


# --- the events cash publishes (one contract for the import, people's actions and returns) ---

DEDUCTION_TAKEN = "cash.deduction_taken"
"""A short pay left part of an invoice open as a deduction: disputes opens a deduction case."""
PAYMENT_APPLIED = "cash.payment_applied"
"""Cash settled a customer's invoices: credit rechecks held orders, collections judges promises."""
PAYMENT_RETURNED = "cash.payment_returned"
"""A payment came back from the bank: what it settled is open again (collections, credit)."""
