"""The matcher: who paid, which invoices, how much, and whether to post it without a person.

For a batch of payments (in statement order) `gather` reads, through indexes only, every candidate the
payments' data points to: documents whose normalised number keys appear in the texts, customers whose bank
accounts, numbers or name tokens appear, and those customers' open items (a parent's include its
subsidiaries'). The documents are locked and their open amounts read fresh. `decide` is then plain
Python over those candidates; `Lookup.settle` keeps the open amounts current, so a later payment of the
batch sees what an earlier one settled.

Every decision carries its reasons in words a person reads, and a confidence combined from independent
evidence (`matching.confidence`). It is posted only above the policy's threshold and never when it is
ambiguous (two equal open items and no reference, two customers with the same score).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from o2c.cash import matching
from o2c.cash.matching import Evidence
from o2c.cash.models import CustomerKey, DocumentKey, PayerAccount, PayerName
from o2c.core.money import format_with_currency
from o2c.customers import selectors as customer_selectors
from o2c.documents.references import rf_reference_body
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import LegalEntity
from o2c.ledger.rules import convert_minor
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables.selectors import OpenItem

_CHUNK = 50_000
_NAME_TOKEN_FANOUT = 300
"""A name token shared by more customers than this ("SERVICES", "HOLDING") does not narrow the search."""
_NAME_ACCEPT = 85.0
_MAX_NAMED_SUBSET = 12
"""Documents named in one text searched for the combination the amount pays."""
_DEDUCTION_WORDS = re.compile(
    r"\b(deduct\w*|short\s*pa\w*|less|minus|abz\w*|abzug\w*|einbehalt\w*|k(?:u|ü|ue)rzung\w*|retenue\w*|"
    r"d[eé]duction\w*|descuento\w*|deducci[oó]n\w*|retenci[oó]n\w*|claim|damaged|besch(?:a|ä|ae)dig\w*|"
    r"reklamation\w*|m(?:a|ä|ae)ngel\w*|litige\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Policy:
    auto_apply: Decimal = Decimal("0.900")
    write_off_tolerance_minor: int = 500
    discount_grace_days: int = 3
    tolerance_currency: str | None = None
    """The tolerance's currency; None (no policy stored) applies it in minor units of any currency."""
    fx_tolerance_percent: Decimal = Decimal("1.00")
    """How far cash converted at the day's rate may differ from the invoices it names (the payer's bank
    converts at its own rate), in percent of their open amount, and still settle them in full, the
    difference being realised FX."""

    def tolerance(self, currency: str) -> int:
        if self.tolerance_currency in (None, currency):
            return self.write_off_tolerance_minor
        return 0


@dataclass(frozen=True, slots=True)
class Remitted:
    number: str
    amount_minor: int | None = None
    discount_minor: int | None = None
    deduction_minor: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PaymentIn:
    amount_minor: int
    currency: str
    value_date: date
    payer_name: str = ""
    payer_account_key: str = ""
    texts: tuple[str, ...] = ()
    remitted: tuple[Remitted, ...] = ()


@dataclass(slots=True)
class Line:
    document_id: int
    amount_minor: int
    discount_minor: int = 0
    write_off_minor: int = 0
    deduction_minor: int = 0


@dataclass(frozen=True, slots=True)
class Conversion:
    """Cash of the payment's currency settling documents of another, at the day's rate."""

    from_currency: str
    to_currency: str
    rate: Decimal
    """Units of `to_currency` for one of `from_currency`."""
    converted_minor: int
    """The whole payment in `to_currency` (what the matcher compared with the open items)."""


@dataclass(slots=True)
class Decision:
    customer_id: int | None
    lines: list[Line]
    confidence: Decimal
    reasons: list[str]
    auto: bool
    ambiguous: bool = False
    deduction_reason: str = ""
    conversion: Conversion | None = None

    @property
    def applied_minor(self) -> int:
        """The cash the lines apply, in the documents' currency."""
        return sum(line.amount_minor for line in self.lines)


@dataclass(slots=True)
class Lookup:
    """What `gather` read for a batch; the matcher's only view of the database."""

    items: dict[int, OpenItem] = field(default_factory=dict)
    open_now: dict[int, int] = field(default_factory=dict)
    doc_keys: dict[str, set[int]] = field(default_factory=dict)
    account_customers: dict[str, set[int]] = field(default_factory=dict)
    number_customers: dict[str, set[int]] = field(default_factory=dict)
    name_scores: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    learned_names: dict[str, set[int]] = field(default_factory=dict)
    customer_items: dict[int, list[int]] = field(default_factory=dict)
    customers: dict[int, customer_selectors.CustomerFacts] = field(default_factory=dict)
    children: dict[int, set[int]] = field(default_factory=dict)
    rates: dict[tuple[str, str, date], Decimal] = field(default_factory=dict)
    """Conversion rates (from, to, day) for payments that name only documents of another currency."""

    def settle(self, decision: Decision) -> None:
        """Take a posted decision's amounts off the open items, for the payments after it."""
        for line in decision.lines:
            self.open_now[line.document_id] -= line.amount_minor + line.discount_minor + line.write_off_minor


@dataclass(slots=True)
class _Keys:
    """The index keys one payment's data yields."""

    documents: set[str] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)
    rf: set[str] = field(default_factory=set)
    name_tokens: list[str] = field(default_factory=list)
    name_key: str = ""


TextKeys = tuple[frozenset[str], frozenset[str]]
"""Of one text: the keys of every reference-like stretch, and those of its RF creditor references."""


def text_keys(texts: Iterable[str]) -> dict[str, TextKeys]:
    """The keys of each text. Pure Python and no database: an import reads the next batch's texts in a
    thread while the database works on the batch before."""
    found: dict[str, TextKeys] = {}
    for text in texts:
        if text in found:
            continue
        rf_keys: set[str] = set()
        for reference in matching.rf_references(text):
            try:
                body = rf_reference_body(reference)
            except ValueError:
                continue
            rf_keys |= matching.document_reference_keys(body)
        found[text] = (matching.text_reference_keys(text), frozenset(rf_keys))
    return found


def _keys_of(payment: PaymentIn, read: Mapping[str, TextKeys]) -> _Keys:
    keys = _Keys()
    for text in payment.texts:
        documents, rf_keys = read[text] if text in read else text_keys([text])[text]
        keys.documents |= documents | rf_keys
        keys.rf |= rf_keys
    for remitted in payment.remitted:
        keys.exact |= matching.document_reference_keys(remitted.number)
    keys.documents |= keys.exact
    if payment.payer_name:
        keys.name_key = matching.normalize_name(payment.payer_name)
        keys.name_tokens = [token for token in keys.name_key.split() if len(token) >= 3]
    return keys


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(values))
    for offset in range(0, len(ordered), _CHUNK):
        yield ordered[offset : offset + _CHUNK]


def gather(
    *,
    entity_id: int,
    payments: Sequence[PaymentIn],
    lock: bool = True,
    read: Mapping[str, TextKeys] | None = None,
    policy: Policy | None = None,
) -> tuple[Lookup, list[_Keys]]:
    """Read every candidate of a batch through the indexes, and lock the candidate documents (`read`:
    the keys of the payments' texts where `text_keys` has read them already; `policy`: the one the
    batch is decided by, whose tolerance widens what an amount may match).

    Cheap evidence first (references, customer numbers, known accounts, learned names); payer names are
    scored only where that leaves the payer open and no invoice of the payment's currency is named, and
    customers' open items are read only for payments that name none (the amount decides there).
    """
    lookup = Lookup()
    policy = policy or Policy()
    keys = [_keys_of(payment, read or {}) for payment in payments]
    all_doc_keys = {key for payment_keys in keys for key in payment_keys.documents}
    for chunk in _chunks(all_doc_keys):
        for key, document_id in DocumentKey.objects.filter(
            entity_id=entity_id, key__any=frozenset(chunk)
        ).values_list("key", "document_id"):
            lookup.doc_keys.setdefault(key, set()).add(document_id)
    # customer numbers written in the texts share the key scheme of document numbers
    for chunk in _chunks(all_doc_keys):
        for key, customer_id in CustomerKey.objects.filter(
            entity_id=entity_id, kind=CustomerKey.Kind.NUMBER, key__any=frozenset(chunk)
        ).values_list("key", "customer_id"):
            lookup.number_customers.setdefault(key, set()).add(customer_id)
    accounts = {payment.payer_account_key for payment in payments if payment.payer_account_key}
    for chunk in _chunks(accounts):
        for account_key, customer_id in PayerAccount.objects.filter(
            entity_id=entity_id, account_key__any=frozenset(chunk)
        ).values_list("account_key", "customer_id"):
            lookup.account_customers.setdefault(account_key, set()).add(customer_id)
    for iban, owners in customer_selectors.owners_of_ibans(entity_id=entity_id, ibans=accounts).items():
        lookup.account_customers.setdefault(iban, set()).update(owners)
    name_keys = {payment_keys.name_key for payment_keys in keys if payment_keys.name_key}
    for chunk in _chunks(name_keys):
        for name_key, customer_id in PayerName.objects.filter(
            entity_id=entity_id, name_key__any=frozenset(chunk)
        ).values_list("name_key", "customer_id"):
            lookup.learned_names.setdefault(name_key, set()).add(customer_id)
    referenced_ids = set().union(*lookup.doc_keys.values())
    referenced = receivables_selectors.open_items_by_ids(entity_id=entity_id, document_ids=referenced_ids)

    def names_an_invoice(payment: PaymentIn, payment_keys: _Keys) -> bool:
        named = set().union(*(lookup.doc_keys.get(key, set()) for key in payment_keys.documents))
        return any(pk in referenced and referenced[pk].currency == payment.currency for pk in named)

    # the references tell whose invoices are paid: a payer's name only counts where none is named
    open_payer = [
        (payment, payment_keys)
        for payment, payment_keys in zip(payments, keys, strict=True)
        if _known_payer(payment, payment_keys, lookup) is None and not names_an_invoice(payment, payment_keys)
    ]
    _score_names(entity_id, open_payer, lookup)
    candidates: set[int] = set()
    # per customer whose invoices the amount alone may decide: the largest open amount that can count
    reach: dict[int, int] = {}
    for payment, payment_keys in zip(payments, keys, strict=True):
        payers = _payer_candidates(payment, payment_keys, lookup)
        candidates |= payers
        if not names_an_invoice(payment, payment_keys):
            for payer in payers:
                reach[payer] = max(reach.get(payer, 0), _amount_reach(payment, policy))
    lookup.children = customer_selectors.children_of(customer_ids=candidates)
    for payer, most in list(reach.items()):
        for child in lookup.children.get(payer, set()):
            reach[child] = max(reach.get(child, 0), most)
    lookup.items, lookup.customer_items = receivables_selectors.open_items_for_matching(
        entity_id=entity_id, document_ids=referenced_ids, customer_reach=reach, lock=lock
    )
    lookup.open_now = {pk: item.open_minor for pk, item in lookup.items.items()}
    _conversion_rates(entity_id, payments, keys, lookup)
    lookup.customers = customer_selectors.customer_facts(
        customer_ids=candidates.union(*lookup.children.values())
        | {item.customer_id for item in lookup.items.values()}
    )
    heads = {facts.parent_id for facts in lookup.customers.values() if facts.parent_id}
    heads -= set(lookup.customers)
    lookup.customers.update(customer_selectors.customer_facts(customer_ids=heads))
    return lookup, keys


def _amount_reach(payment: PaymentIn, policy: Policy) -> int:
    """The largest open amount a payment that names no invoice can settle by its amount alone: an open
    item equal to it, items that sum to it, one it pays less an early-payment discount (of up to half
    the invoice) or less a shortfall under the tolerance."""
    return 2 * payment.amount_minor + policy.tolerance(payment.currency)


def _conversion_rates(
    entity_id: int, payments: Sequence[PaymentIn], keys: list[_Keys], lookup: Lookup
) -> None:
    """The day's rates for payments that name documents of one other currency only."""
    functional: str | None = None
    for payment, payment_keys in zip(payments, keys, strict=True):
        named = set().union(*(lookup.doc_keys.get(key, set()) for key in payment_keys.documents))
        currencies = {lookup.items[pk].currency for pk in named if pk in lookup.items}
        if len(currencies) != 1 or payment.currency in currencies:
            continue
        pair = (payment.currency, currencies.pop(), payment.value_date)
        if pair in lookup.rates:
            continue
        if functional is None:
            functional = LegalEntity.objects.values_list("currency", flat=True).get(pk=entity_id)
        rate = conversion_rate(*pair, functional_currency=functional)
        if rate is not None:
            lookup.rates[pair] = rate


def _known_payer(payment: PaymentIn, keys: _Keys, lookup: Lookup) -> int | None:
    """The payer when a known account, a customer number or a learned name names exactly one."""
    account = payment.payer_account_key
    for found in (
        lookup.account_customers.get(account, set()) if account else set(),
        set().union(*(lookup.number_customers.get(key, set()) for key in keys.documents)),
        lookup.learned_names.get(keys.name_key, set()),
    ):
        if len(found) == 1:
            return next(iter(found))
    return None


def _payer_candidates(payment: PaymentIn, keys: _Keys, lookup: Lookup) -> set[int]:
    known = _known_payer(payment, keys, lookup)
    if known is not None:
        return {known}
    account = payment.payer_account_key
    return {
        *(lookup.account_customers.get(account, set()) if account else set()),
        *set().union(*(lookup.number_customers.get(key, set()) for key in keys.documents)),
        *lookup.learned_names.get(keys.name_key, set()),
        *(customer_id for customer_id, _ in lookup.name_scores.get(keys.name_key, [])[:2]),
    }


def _score_names(entity_id: int, payments: Sequence[tuple[PaymentIn, _Keys]], lookup: Lookup) -> None:
    tokens = {token for _, payment_keys in payments for token in payment_keys.name_tokens}
    by_token: dict[str, list[tuple[int, str]]] = {}
    for chunk in _chunks(tokens):
        for token, customer_id, name in CustomerKey.objects.filter(
            entity_id=entity_id, kind=CustomerKey.Kind.NAME_TOKEN, key__any=frozenset(chunk)
        ).values_list("key", "customer_id", "indexed_name"):
            by_token.setdefault(token, []).append((customer_id, name))
    for payment, payment_keys in payments:
        if not payment_keys.name_key or payment_keys.name_key in lookup.name_scores:
            continue
        candidates: dict[int, str] = {}
        for token in payment_keys.name_tokens:
            found = by_token.get(token, [])
            if len(found) <= _NAME_TOKEN_FANOUT:
                candidates.update(found)
        scores = sorted(
            (
                (customer_id, matching.name_score(payment.payer_name, name))
                for customer_id, name in candidates.items()
            ),
            key=lambda pair: (-pair[1], pair[0]),
        )
        lookup.name_scores[payment_keys.name_key] = [pair for pair in scores if pair[1] >= _NAME_ACCEPT][:5]


def _money(amount_minor: int, currency: str) -> str:
    return format_with_currency(amount_minor, currency) or ""


def _discount_of(item: OpenItem, open_minor: int, value_date: date, policy: Policy) -> int:
    if not item.discount_percent or item.discount_date is None:
        return 0
    if value_date > item.discount_date + timedelta(days=policy.discount_grace_days):
        return 0
    if open_minor != item.total_minor:
        return 0  # a discount is taken on a whole invoice, not on what is left of it
    return matching.discount_due(open_minor, item.total_minor, item.discount_percent, item.currency)


class _Matcher:
    def __init__(self, payment: PaymentIn, keys: _Keys, lookup: Lookup, policy: Policy) -> None:
        self.payment = payment
        self.keys = keys
        self.lookup = lookup
        self.policy = policy
        self.evidence: list[Evidence] = []
        self.reasons: list[str] = []

    def note(self, kind: str, weight: int, text: str) -> None:
        if weight:
            self.evidence.append(Evidence(kind=kind, weight=weight, text=text))
        self.reasons.append(text)

    def decision(self, customer_id: int | None, lines: list[Line], *, ambiguous: bool = False) -> Decision:
        confidence = matching.confidence(self.evidence) if self.evidence else Decimal("0.000")
        auto = not ambiguous and customer_id is not None and confidence >= self.policy.auto_apply
        deduction = "; ".join(self.payment.texts) if any(line.deduction_minor for line in lines) else ""
        return Decision(
            customer_id=customer_id,
            lines=lines,
            confidence=confidence,
            reasons=self.reasons,
            auto=auto,
            ambiguous=ambiguous,
            deduction_reason=deduction[:300],
        )

    def label(self, customer_id: int) -> str:
        facts = self.lookup.customers.get(customer_id)
        return facts.number if facts else str(customer_id)

    # --- stage 1: who paid ----------------------------------------------------------------------
    def payer(self) -> tuple[int | None, bool]:
        """The paying customer and whether the evidence for it is ambiguous."""
        account = self.payment.payer_account_key
        by_account = self.lookup.account_customers.get(account, set()) if account else set()
        if len(by_account) == 1:
            customer_id = next(iter(by_account))
            self.note("account", 90, f"bank account {account} known for customer {self.label(customer_id)}")
            return customer_id, False
        numbers = set().union(*(self.lookup.number_customers.get(key, set()) for key in self.keys.documents))
        if len(numbers) == 1:
            customer_id = next(iter(numbers))
            self.note("customer_number", 80, f"customer number {self.label(customer_id)} found in the text")
            return customer_id, False
        learned = self.lookup.learned_names.get(self.keys.name_key, set())
        if len(learned) == 1:
            customer_id = next(iter(learned))
            self.note(
                "learned_name", 85, f"payer name confirmed before for customer {self.label(customer_id)}"
            )
            return customer_id, False
        scores = self.lookup.name_scores.get(self.keys.name_key, [])
        if scores:
            best_id, best = scores[0]
            if len(scores) > 1 and scores[1][1] >= best - 2:
                names = ", ".join(self.label(customer_id) for customer_id, _ in scores[:3])
                self.note(
                    "name", 0, f"payer name '{self.payment.payer_name}' fits several customers ({names})"
                )
                return None, True
            weight = 75 if best >= 95 else 55
            self.note(
                "name",
                weight,
                f"payer name '{self.payment.payer_name}' matches customer {self.label(best_id)} "
                f"({best:.0f}/100)",
            )
            return best_id, False
        if len(by_account) > 1 or len(numbers) > 1:
            return None, True
        return None, False

    # --- stage 2: which invoices ------------------------------------------------------------------
    def referenced(self) -> list[int]:
        ids = set().union(*(self.lookup.doc_keys.get(key, set()) for key in self.keys.documents))
        found = [pk for pk in ids if pk in self.lookup.items]
        found.sort(key=lambda pk: (self.lookup.items[pk].due_date, pk))
        return found

    def reference_evidence(self, ids: list[int]) -> None:
        for pk in ids:
            number, strength = self.lookup.items[pk].number, self.strength(pk)
            if strength == 98:
                self.note("rf_reference", 98, f"RF creditor reference of {number} found")
            elif strength == 95:
                self.note("reference", 95, f"reference {number} found")
            else:
                self.note("reference", 85, f"reference {number} found (normalised)")

    def run(self) -> Decision:
        referenced = self.referenced()
        conversion = self.conversion(referenced)
        decision = self.matched(referenced)
        if conversion is not None and decision.lines:
            decision.conversion = conversion
        return decision

    def conversion(self, referenced: list[int]) -> Conversion | None:
        """When the payment names only documents of one other currency and the day has a rate, the
        matcher goes on with the payment converted into that currency."""
        payment = self.payment
        currencies = {self.lookup.items[pk].currency for pk in referenced}
        if len(currencies) != 1 or payment.currency in currencies:
            return None
        target = currencies.pop()
        rate = self.lookup.rates.get((payment.currency, target, payment.value_date))
        if rate is None:
            return None
        converted = convert_minor(
            payment.amount_minor, from_currency=payment.currency, to_currency=target, rate=rate
        )
        self.note(
            "conversion",
            0,
            f"{_money(payment.amount_minor, payment.currency)} converted at {rate.normalize():f} "
            f"= {_money(converted, target)}",
        )
        open_total = sum(max(self.lookup.open_now[pk], 0) for pk in referenced)
        compared = converted
        fx_tolerance = open_total * self.policy.fx_tolerance_percent / 100
        if converted != open_total and abs(converted - open_total) <= fx_tolerance:
            self.note(
                "fx_difference",
                0,
                f"{_money(abs(converted - open_total), target)} off the open amount at the day's rate: "
                "settled in full, the difference is realised FX",
            )
            compared = open_total
        self.payment = replace(payment, amount_minor=compared, currency=target)
        return Conversion(
            from_currency=payment.currency, to_currency=target, rate=rate, converted_minor=compared
        )

    def matched(self, referenced: list[int]) -> Decision:
        payment = self.payment
        usable = [pk for pk in referenced if self.lookup.items[pk].currency == payment.currency]
        for pk in referenced:
            if pk not in usable:
                item = self.lookup.items[pk]
                self.note(
                    "currency", 0, f"{item.number} is in {item.currency}, the payment in {payment.currency}"
                )
        payer_id, payer_ambiguous = self.payer()
        if usable:
            usable = self.narrowed(usable, payer_id)
            owners = {self.lookup.items[pk].customer_id for pk in usable}
            heads = {self._head(owner) for owner in owners}
            if payer_id is None and len(owners) == 1:
                payer_id = next(iter(owners))
            elif payer_id is None and len(heads) == 1:
                payer_id = next(iter(heads))
                self.note("group", 0, f"the invoices belong to the group of customer {self.label(payer_id)}")
            elif payer_id is not None and owners - self._group(payer_id):
                # a third party, or a payer that pays for others: the references tell whose invoices
                self.note(
                    "third_party", 0, "the referenced invoices belong to another customer than the payer"
                )
                if len(owners) == 1:
                    payer_id = next(iter(owners))
            self.reference_evidence(usable)
            return self.by_reference(payer_id, usable)
        if payer_id is None:
            if not payer_ambiguous:
                self.note("unidentified", 0, "no known account, reference, customer number or payer name")
            return self.decision(None, [], ambiguous=payer_ambiguous)
        return self.by_amount(payer_id)

    def _group(self, customer_id: int) -> set[int]:
        return {customer_id, *self.lookup.children.get(customer_id, set())}

    def _head(self, customer_id: int) -> int:
        facts = self.lookup.customers.get(customer_id)
        return facts.parent_id if facts is not None and facts.parent_id else customer_id

    def strength(self, pk: int) -> int:
        """How the payment names a document: 98 by its RF reference, 95 as written, 85 normalised."""
        item = self.lookup.items[pk]
        # the document's own keys only matter against RF references and remitted numbers (rarely there)
        keys = (
            matching.document_reference_keys(item.number) if self.keys.rf or self.keys.exact else frozenset()
        )
        if keys & self.keys.rf:
            return 98
        if keys & self.keys.exact or any(item.number.upper() in text.upper() for text in self.payment.texts):
            return 95
        return 85

    def fits(self, ids: Sequence[int]) -> bool:
        """Whether the amount settles exactly these open documents (less discounts, or within tolerance)."""
        opens = {pk: self.lookup.open_now[pk] for pk in ids if self.lookup.open_now[pk] > 0}
        if not opens:
            return False
        total, paid = sum(opens.values()), self.payment.amount_minor
        discount = sum(
            _discount_of(self.lookup.items[pk], open_minor, self.payment.value_date, self.policy)
            for pk, open_minor in opens.items()
        )
        tolerance = self.policy.tolerance(self.payment.currency)
        return (
            paid == total or (discount > 0 and paid == total - discount) or total - tolerance <= paid <= total
        )

    def narrowed(self, ids: list[int], payer_id: int | None) -> list[int]:
        """Of several documents a text names, those the amount and the evidence point at: a normalised
        reading of one number may also name another customer's invoice."""
        if len(ids) < 2:
            return ids
        strong = [pk for pk in ids if self.strength(pk) >= 95]
        group = self._group(payer_id) if payer_id is not None else set()
        own = [pk for pk in ids if self.lookup.items[pk].customer_id in group]
        for chosen in (ids, strong, own, [pk for pk in strong if pk in own]):
            if chosen and self.fits(chosen):
                return self._left_out(ids, chosen)
        open_named = [(pk, self.lookup.open_now[pk]) for pk in ids if self.lookup.open_now[pk] > 0]
        if 1 < len(open_named) <= _MAX_NAMED_SUBSET and self.payment.amount_minor > 0:
            subset = matching.unique_subset(open_named, self.payment.amount_minor, max_items=len(open_named))
            if subset.ids is not None:
                return self._left_out(ids, sorted(subset.ids, key=ids.index))
        return self._left_out(ids, strong) if strong else ids

    def _left_out(self, ids: list[int], chosen: list[int]) -> list[int]:
        for pk in ids:
            if pk not in chosen:
                self.note(
                    "left_out",
                    0,
                    f"{self.lookup.items[pk].number} also read in the text, left out: the amount and "
                    "the references fit the others",
                )
        return chosen

    # --- stage 3: how much ------------------------------------------------------------------------
    def by_reference(self, payer_id: int | None, ids: list[int]) -> Decision:
        payment, lookup = self.payment, self.lookup
        open_ids = [pk for pk in ids if lookup.open_now[pk] > 0]
        for pk in ids:
            if lookup.open_now[pk] <= 0:
                self.note("paid", 0, f"{lookup.items[pk].number} is paid already")
        if not open_ids:
            self.note("on_account", 0, f"{_money(payment.amount_minor, payment.currency)} put on account")
            return self.decision(payer_id, [])
        remitted = {
            key: entry for entry in payment.remitted for key in matching.document_reference_keys(entry.number)
        }
        if remitted and any(entry.amount_minor is not None for entry in payment.remitted):
            return self.by_remittance(payer_id, open_ids, remitted)
        opens = {pk: lookup.open_now[pk] for pk in open_ids}
        total = sum(opens.values())
        discounts = {
            pk: _discount_of(lookup.items[pk], opens[pk], payment.value_date, self.policy) for pk in open_ids
        }
        paid = payment.amount_minor
        currency = payment.currency
        if paid == total:
            self.note("amount", 60, f"amount equals the open amount {_money(total, currency)}")
            return self.decision(payer_id, [Line(pk, opens[pk]) for pk in open_ids])
        discount = sum(discounts.values())
        if discount and paid == total - discount:
            self.note(
                "discount",
                55,
                f"amount equals the open amount less the early-payment discount "
                f"{_money(discount, currency)} (within terms)",
            )
            return self.decision(
                payer_id,
                [Line(pk, opens[pk] - discounts[pk], discount_minor=discounts[pk]) for pk in open_ids],
            )
        if total - self.policy.tolerance(payment.currency) <= paid < total:
            lines = [Line(pk, opens[pk]) for pk in open_ids]
            difference = total - paid
            lines[-1].amount_minor -= difference
            lines[-1].write_off_minor = difference
            self.note(
                "tolerance", 50, f"{_money(difference, currency)} short, under the tolerance: written off"
            )
            return self.decision(payer_id, lines)
        if paid > total:
            self.note("overpayment", 30, f"{_money(paid - total, currency)} more than open: put on account")
            return self.decision(payer_id, [Line(pk, opens[pk]) for pk in open_ids])
        # less than open: oldest first, the last one partly
        lines = []
        left = paid
        for pk in open_ids:
            if left <= 0:
                break
            amount = min(left, opens[pk])
            lines.append(Line(pk, amount))
            left -= amount
        short = total - paid
        if any(_DEDUCTION_WORDS.search(text) for text in payment.texts):
            last = lines[-1]
            last.deduction_minor = opens[last.document_id] - last.amount_minor
            for pk in open_ids[len(lines) :]:
                lines.append(Line(pk, 0, deduction_minor=opens[pk]))
            self.note("deduction", 30, f"short pay of {_money(short, currency)} kept open as a deduction")
        else:
            self.note("partial", 20, f"partial payment: {_money(short, currency)} stays open")
            if len(open_ids) > 1:
                # which of the invoices the money was meant for is a person's call
                return self.decision(payer_id, lines, ambiguous=True)
        return self.decision(payer_id, lines)

    def by_remittance(
        self, payer_id: int | None, open_ids: list[int], remitted: dict[str, Remitted]
    ) -> Decision:
        """The payer's own list of invoices and amounts (a lockbox stub, a remittance advice)."""
        lookup, payment = self.lookup, self.payment
        lines = []
        left = payment.amount_minor
        for pk in open_ids:
            item = lookup.items[pk]
            entry = next(
                (remitted[key] for key in matching.document_reference_keys(item.number) if key in remitted),
                None,
            )
            if entry is None:
                continue
            open_minor = lookup.open_now[pk]
            pays = min(entry.amount_minor if entry.amount_minor is not None else open_minor, open_minor, left)
            if pays <= 0:
                continue
            discount = min(entry.discount_minor or 0, open_minor - pays)
            deduction = min(entry.deduction_minor or 0, open_minor - pays - discount)
            if not deduction and open_minor - pays - discount > 0 and entry.reason:
                deduction = open_minor - pays - discount
            lines.append(Line(pk, pays, discount_minor=discount, deduction_minor=deduction))
            left -= pays
        if not lines:
            return self.decision(payer_id, [])
        self.note("remittance", 60, "amounts as the payer's remittance lists them")
        if left > 0:
            self.note("overpayment", 0, f"{_money(left, payment.currency)} not listed: put on account")
        return self.decision(payer_id, lines)

    def by_amount(self, payer_id: int) -> Decision:
        payment, lookup = self.payment, self.lookup
        paid = payment.amount_minor
        candidates = [
            pk
            for customer_id in sorted(self._group(payer_id))
            for pk in lookup.customer_items.get(customer_id, [])
            if lookup.open_now.get(pk, 0) > 0 and lookup.items[pk].currency == payment.currency
        ]
        exact = [pk for pk in candidates if lookup.open_now[pk] == paid]
        if len(exact) == 1:
            item = lookup.items[exact[0]]
            self.note("amount", 60, f"amount equals the open amount of {item.number}, no reference given")
            return self.decision(payer_id, [Line(exact[0], paid)])
        if len(exact) > 1:
            numbers = ", ".join(lookup.items[pk].number for pk in exact[:5])
            self.note("ambiguous", 0, f"amount equals several open items ({numbers}): a person decides")
            return self.decision(payer_id, [Line(pk, paid) for pk in exact[:5]], ambiguous=True)
        discounted = []
        for pk in candidates:
            discount = _discount_of(lookup.items[pk], lookup.open_now[pk], payment.value_date, self.policy)
            if discount and lookup.open_now[pk] - discount == paid:
                discounted.append((pk, discount))
        if len(discounted) == 1:
            pk, discount = discounted[0]
            self.note(
                "discount",
                55,
                f"amount equals {lookup.items[pk].number} less its early-payment discount "
                f"{_money(discount, payment.currency)}",
            )
            return self.decision(payer_id, [Line(pk, paid, discount_minor=discount)])
        subset = matching.unique_subset([(pk, lookup.open_now[pk]) for pk in candidates], paid)
        if subset.ids and not subset.ambiguous and not subset.exhausted:
            numbers = ", ".join(lookup.items[pk].number for pk in subset.ids)
            self.note(
                "combination", 50, f"amount equals the sum of open items {numbers}, and no other combination"
            )
            return self.decision(payer_id, [Line(pk, lookup.open_now[pk]) for pk in subset.ids])
        if subset.ambiguous or len(discounted) > 1:
            self.note("ambiguous", 0, "several combinations of open items fit the amount: a person decides")
            return self.decision(payer_id, [], ambiguous=True)
        tolerated = [
            pk
            for pk in candidates
            if 0 < lookup.open_now[pk] - paid <= self.policy.tolerance(payment.currency)
        ]
        if len(tolerated) == 1:
            pk = tolerated[0]
            difference = lookup.open_now[pk] - paid
            self.note(
                "tolerance",
                45,
                f"amount is {_money(difference, payment.currency)} short of "
                f"{lookup.items[pk].number}, under the tolerance: written off",
            )
            return self.decision(payer_id, [Line(pk, paid, write_off_minor=difference)])
        self.note("on_account", 0, "no open item fits the amount: put on account")
        return self.decision(payer_id, [])


def decide(payment: PaymentIn, keys: _Keys, lookup: Lookup, policy: Policy) -> Decision:
    return _Matcher(payment, keys, lookup, policy).run()


def conversion_rate(
    from_currency: str, to_currency: str, on: date, *, functional_currency: str
) -> Decimal | None:
    """The day's rate from one currency to another: the pair itself (or its inverse), else across the
    entity's functional currency; None when the rates table has neither."""
    try:
        return ledger_selectors.fx_rate_on(from_currency=from_currency, to_currency=to_currency, on=on)
    except UnableToConvertCurrency:
        pass
    try:
        into = ledger_selectors.fx_rate_on(
            from_currency=from_currency, to_currency=functional_currency, on=on
        )
        out = ledger_selectors.fx_rate_on(from_currency=functional_currency, to_currency=to_currency, on=on)
    except UnableToConvertCurrency:
        return None
    return (into * out).quantize(Decimal(1).scaleb(-10))
