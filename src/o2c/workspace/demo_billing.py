"""The demo company's contracts: seller profiles, a US entity, a catalogue, subscriptions, usage and a
year of monthly billing runs, all carried out through the billing, customer and ledger services.

`demo.demo_create` makes a `DemoBilling` once its customers exist (`prepare`), calls `advance(day)`
before each day of its history, so the billing runs' invoices take their numbers in date order among
the invoices made by hand, and `finish()` at the end: the steps left up to `today`, then a preview
run for next month, whose drafts wait on the review screen.

Like the rest of the demo, everything is planned first from the seed as plain values (who subscribes
to what, from when, with which discount and PO number, who adds seats or cancels when, every usage
event) and then carried out in date order as steps: usage batches, amendments and cancellations on
their days, the issuing runs on the first of each month, then the payments of what a run issued.
A payment's date comes from the bill-to customer's payment behaviour and a generator seeded with the
document's number, so it does not depend on the order in which anything else was drawn.

The seller's invoice profile, tax registrations and the exemption certificates go through their
services (`billing.services.invoice_profile_set`, `ledger.services.tax_registration_set`,
`billing.services.tax_exemption_add`), only where missing. The entity's bank accounts have no service
yet (the admin site edits them); the demo writes them here, audited, and only where missing.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from schwifty import IBAN
from stdnum.iso7064 import mod_11_10

from o2c.audit import services as audit_services
from o2c.billing import runs as billing_runs
from o2c.billing import selectors as billing_selectors
from o2c.billing import services as billing_services
from o2c.billing.models import Subscription
from o2c.billing.services import InvoiceProfileIn, ProductIn, SubscriptionIn, UsageIn
from o2c.customers import selectors as customer_selectors
from o2c.customers import services as customer_services
from o2c.customers.services import CustomerIn
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, EntityBankAccount, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.receivables import services as receivable_services
from o2c.receivables.models import Document

US_ENTITY = ("US01", "O2C Demo Inc.", "US", "USD", "America/New_York")
SOURCE = "demo"
DEMO_SET_UP = "demo set-up"


ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class BillingSummary:
    entities: tuple[str, ...]
    us_customers: int
    products: int
    subscriptions: int
    amended: int
    cancelled: int
    usage_events: int
    runs: int
    invoices: int
    consolidated: int
    credit_memos: int
    drafts: int
    payments: int
    errors: tuple[str, ...]


# --------------------------------------------------------------------------------------------------
# The catalogue, the same codes in every entity
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Offer:
    code: str
    name: str
    price_model: str
    billing_period: str
    timing: str
    metric: str
    # currency -> unit price, tiers, minimum commitment per period
    prices: tuple[tuple[str, str, str, str], ...]


CATALOGUE: tuple[_Offer, ...] = (
    _Offer(
        "PLATFORM",
        "Platform subscription",
        "flat",
        "month",
        "advance",
        "",
        (("EUR", "490", "", "0"), ("GBP", "420", "", "0"), ("USD", "540", "", "0")),
    ),
    _Offer(
        "SEATS",
        "User seats",
        "per_unit",
        "month",
        "advance",
        "",
        (("EUR", "29", "", "0"), ("GBP", "25", "", "0"), ("USD", "32", "", "0")),
    ),
    _Offer(
        "API-CALLS",
        "API calls",
        "tiered",
        "month",
        "arrears",
        "api_calls",
        (
            ("EUR", "0", "10000:0.010|100000:0.006|*:0.003", "25"),
            ("GBP", "0", "10000:0.009|100000:0.005|*:0.0025", "20"),
            ("USD", "0", "10000:0.011|100000:0.0065|*:0.0035", "30"),
        ),
    ),
    _Offer(
        "STORAGE",
        "Storage (GB)",
        "volume",
        "month",
        "arrears",
        "",
        (
            ("EUR", "0", "100:0.40|1000:0.30|*:0.20", "0"),
            ("GBP", "0", "100:0.35|1000:0.25|*:0.18", "0"),
            ("USD", "0", "100:0.45|1000:0.33|*:0.22", "0"),
        ),
    ),
    _Offer(
        "SMS",
        "SMS bundles of 1,000",
        "package",
        "month",
        "arrears",
        "sms",
        (("EUR", "0", "1000:45", "0"), ("GBP", "0", "1000:39", "0"), ("USD", "0", "1000:49", "0")),
    ),
    _Offer(
        "SUPPORT",
        "Premium support (yearly)",
        "flat",
        "year",
        "advance",
        "",
        (("EUR", "2400", "", "0"), ("GBP", "2100", "", "0"), ("USD", "2600", "", "0")),
    ),
    _Offer(
        "ONBOARDING",
        "Onboarding (one-time)",
        "flat",
        "once",
        "advance",
        "",
        (("EUR", "1500", "", "0"), ("GBP", "1300", "", "0"), ("USD", "1650", "", "0")),
    ),
)


def products_for(currencies: tuple[str, ...]) -> list[ProductIn]:
    return [
        ProductIn(
            code=offer.code,
            name=offer.name,
            price_model=offer.price_model,
            currency=currency,
            unit_price=Decimal(unit_price),
            tiers=tiers,
            billing_period=offer.billing_period,
            timing=offer.timing,
            metric=offer.metric,
            minimum=Decimal(minimum),
        )
        for offer in CATALOGUE
        for currency, unit_price, tiers, minimum in offer.prices
        if currency in currencies
    ]


# --------------------------------------------------------------------------------------------------
# Seller master data: invoice profiles, registrations, bank accounts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """What a demo seller prints and is registered for, by the entity's country."""

    address: str
    email: str
    register_court: str
    register_number: str
    managing_directors: str
    registrations: tuple[tuple[str, str, str], ...]  # country, scheme ("vat" or a US state), number
    # currency, bank, IBAN (or ""), BIC, account number, ABA routing number (US)
    accounts: tuple[tuple[str, str, str, str, str, str], ...]


def _de_vat_id(base: str = "81257346") -> str:
    return f"DE{base}{mod_11_10.calc_check_digit(base)}"


_PROFILES = {
    "DE": _Profile(
        address="Friedrichstraße 68\n10117 Berlin\nDeutschland",
        email="rechnung@o2c-demo.example",
        register_court="Amtsgericht Charlottenburg",
        register_number="HRB 234567 B",
        managing_directors="Dr. Julia Hartmann, Tobias Brandt",
        registrations=(("DE", "vat", _de_vat_id()),),
        accounts=(
            ("EUR", "Commerzbank Köln (EUR)", "DE89370400440532013000", "COBADEFF", "", ""),
            ("GBP", "NatWest London (GBP)", "GB29NWBK60161331926819", "NWBKGB2L", "", ""),
            # a currency account at a German bank has an IBAN too: made from the account number
            ("USD", "Commerzbank Köln (USD)", "", "COBADEFF", "0532013100", ""),
        ),
    ),
    "US": _Profile(
        address="350 Fifth Avenue, Suite 4200\nNew York, NY 10118\nUnited States",
        email="billing@o2c-demo-inc.example",
        register_court="",
        register_number="EIN 84-2975316",
        managing_directors="Rachel Kim (CEO), Marcus Webb (CFO)",
        # sales tax permits: the states where the entity collects sales tax
        registrations=(
            ("US", "NY", "NY-112345678"),
            ("US", "CA", "SR-EA-102-345678"),
            ("US", "TX", "32045678901"),
        ),
        accounts=(("USD", "JPMorgan Chase Bank, N.A.", "", "CHASUS33", "482019374601", "021000021"),),
    ),
}


def _seller_setup(entity: LegalEntity, admin: User, now: datetime) -> None:
    """Invoice profile, tax registrations and bank accounts of a German or US seller, where missing."""
    profile = _PROFILES.get(entity.country)
    if profile is None:
        return
    if billing_selectors.invoice_profile_get(entity_id=entity.pk) is None:
        billing_services.invoice_profile_set(
            entity=entity,
            data=InvoiceProfileIn(
                address=profile.address,
                email=profile.email,
                register_court=profile.register_court,
                register_number=profile.register_number,
                managing_directors=profile.managing_directors,
            ),
            actor=admin,
            now=now,
            reason=DEMO_SET_UP,
        )
    registered = set(
        billing_selectors.tax_registration_list(entity_id=entity.pk).values_list("country", "scheme")
    )
    for country, scheme, number in profile.registrations:
        if (country, scheme) not in registered:
            ledger_services.tax_registration_set(
                entity=entity,
                country=country,
                scheme=scheme,
                number=number,
                actor=admin,
                now=now,
                reason=DEMO_SET_UP,
            )
    bank = ledger_selectors.account_for(entity=entity, type=AccountType.BANK)
    for currency, name, iban, bic, number, routing in profile.accounts:
        if EntityBankAccount.objects.filter(entity=entity, currency=currency).exists():
            continue
        if not iban and entity.country == "DE":
            iban = str(IBAN.generate("DE", bank_code="37040044", account_code=number).compact)
        account = EntityBankAccount.objects.create(
            entity=entity,
            name=name,
            iban=str(IBAN(iban).compact) if iban else "",
            account_number="" if iban else number,
            routing_number=routing,
            bic=bic,
            currency=currency,
            ledger_account=bank,
        )
        _audit(admin, "ledger.bank_account.created", "entity_bank_account", account.pk, entity, now)


def _audit(
    actor: User, action: str, object_type: str, object_id: int, entity: LegalEntity, now: datetime
) -> None:
    audit_services.record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=entity.code,
        entity_id=entity.pk,
        reason=DEMO_SET_UP,
        now=now,
    )


# --------------------------------------------------------------------------------------------------
# US customers
# --------------------------------------------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


# state, weight, (city, ZIP) ...; the entity is registered in NY, CA and TX, not in WA; OR has no sales tax
_US_STATES: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...] = (
    ("NY", 25, (("New York", "10001"), ("Buffalo", "14202"), ("Albany", "12207"))),
    ("CA", 25, (("San Francisco", "94105"), ("Los Angeles", "90012"), ("San Diego", "92101"))),
    ("TX", 20, (("Austin", "78701"), ("Dallas", "75201"), ("Houston", "77002"))),
    ("WA", 15, (("Seattle", "98101"), ("Spokane", "99201"))),
    ("OR", 15, (("Portland", "97204"), ("Eugene", "97401"))),
)
_ROTATION = ("CA", "TX", "OR", "WA", "NY")
_US_STEMS = _names(
    "Hudson|Sierra|Cascade|Evergreen|Empire|Pacific|Alamo|Willamette|Rainier|Mesa|Harbor|Liberty|Frontier"
    "|Bluebonnet|Columbia|Sequoia|Manhattan|Golden State|Lone Star|Puget|Catskill|Mojave|Brazos|Crater Lake"
)
_US_SECTORS = _names("Analytics|Robotics|Health|Logistics|Software|Retail|Energy|Media|Foods|Networks|Labs")
_US_STREETS = ("Main Street", "Broadway", "Market Street", "Congress Avenue", "Pine Street", "Oak Avenue")
_US_FIRST = ("Emily", "Jacob", "Olivia", "Ethan", "Ava", "Noah", "Mia", "Lucas", "Chloe", "Mason")
_US_LAST = ("Nguyen", "Patel", "Thompson", "Rivera", "Carter", "Brooks", "Reyes", "Morgan", "Bennett")


@dataclass(frozen=True)
class _UsCustomer:
    row: CustomerIn
    behaviour: str
    contact: tuple[str, str, str] | None
    exemption: str  # certificate number, "" for none


def _us_row(number: str, name: str, state: str, rng: random.Random, parent: str = "") -> CustomerIn:
    cities = next(c for s, _, c in _US_STATES if s == state)
    city, zip_code = rng.choice(cities)
    slug = "-".join(name.lower().replace(".", "").replace(",", "").split())
    return CustomerIn(
        number=number,
        name=name,
        country="US",
        currency="USD",
        language="en",
        payment_terms=rng.choices(("NET30", "NET60", "2/10NET30"), weights=(60, 25, 15))[0],
        email=f"ap@{slug}.example",
        parent_number=parent,
        credit_limit=Decimal(rng.randint(2, 30) * 5000),
        address=f"{rng.randint(10, 2400)} {rng.choice(_US_STREETS)}\n{city}, {state} {zip_code}",
        region=state,
        crm_id=f"CRM-{rng.randint(100000, 999999)}",
    )


def plan_us_customers(count: int, rng: random.Random) -> list[_UsCustomer]:
    """`count` US customers (at least 5): one group of a holding and three subsidiaries in other
    states, the rest on their own; one of them tax exempt in a state where the seller collects."""
    stems = rng.sample(_US_STEMS, len(_US_STEMS))
    group = stems.pop()
    customers: list[_UsCustomer] = []

    def add(row: CustomerIn, exemption: str = "") -> None:
        behaviour = rng.choices(("prompt", "late", "slow"), weights=(55, 35, 10))[0]
        contact = None
        if rng.randint(1, 100) <= 80:
            first, last = rng.choice(_US_FIRST), rng.choice(_US_LAST)
            domain = row.email.split("@", 1)[1]
            contact = (
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}@{domain}",
                f"+1 555-01{rng.randint(10, 99)}",
            )
        customers.append(_UsCustomer(row, behaviour, contact, exemption))

    add(_us_row("U10001", f"{group} Holdings Inc.", "NY", rng))
    for offset, (state, suffix) in enumerate((("CA", "West"), ("TX", "Texas"), ("WA", "Northwest")), start=2):
        add(_us_row(f"U1000{offset}", f"{group} {suffix} LLC", state, rng, parent="U10001"))
    used = {c.row.name for c in customers}
    for index in range(len(customers), max(count, 5)):
        state = rng.choices([s for s, _, _ in _US_STATES], weights=[w for _, w, _ in _US_STATES])[0]
        if 5 <= index < 5 + len(_ROTATION):  # the first ones on their own: one in each state
            state = _ROTATION[index - 5]
        name = ""
        for _ in range(50):
            name = f"{rng.choice(stems)} {rng.choice(_US_SECTORS)} {rng.choice(('Inc.', 'LLC'))}"
            if name not in used:
                break
        used.add(name)
        exempt = index == 4  # the first customer on its own: a non-profit hospital, exempt in NY
        if exempt:
            state, name = "NY", f"{rng.choice(stems)} Community Health Inc."
        certificate = f"ST-119-{rng.randint(1000000, 9999999)}" if exempt else ""
        add(_us_row(f"U{10001 + index}", name, state, rng), certificate)
    return customers


def _create_us_customers(
    entity: LegalEntity, plan: list[_UsCustomer], users: dict[str, User], start: date, now: datetime
) -> None:
    admin = users["admin"]
    rows = [customer_services.normalized(c.row) for c in plan]
    customer_services.customers_import(entity=entity, rows=rows, actor=admin, now=now, source=SOURCE)
    ids = dict(customer_selectors.customer_list(entity_ids=[entity.pk]).values_list("number", "pk"))
    for customer in plan:
        if customer.contact is not None:
            name, email, phone = customer.contact
            customer_services.contact_add(
                customer_id=ids[customer.row.number],
                name=name,
                email=email,
                phone=phone,
                role="Accounts payable",
                is_billing=True,
                actor=admin,
                now=now,
            )
        if customer.exemption:
            billing_services.tax_exemption_add(
                customer_id=ids[customer.row.number],
                region=customer.row.region,
                certificate=customer.exemption,
                valid_from=start,
                valid_to=None,
                actor=admin,
                now=now,
                reason=DEMO_SET_UP,
            )
    customer_services.customers_assign_collector(
        customer_ids=sorted(ids.values()),
        collector=users["colin"],
        actor=admin,
        now=now,
        reason="demo portfolio",
    )


# --------------------------------------------------------------------------------------------------
# The plan: contracts, their changes and usage, as values
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Buyer:
    """A customer who may subscribe: number, currency and parent (the bill-to of a parent-billed one)."""

    number: str
    currency: str
    parent: str  # parent customer number, "" for none


@dataclass(frozen=True, order=True)
class _Step:
    on: date
    phase: int  # 0 usage and contract changes, 1 the billing run, 2 payments
    seq: int
    kind: str = field(compare=False)  # usage, amend, cancel, run, pay
    entity: str = field(compare=False)
    subscription: str = field(default="", compare=False)
    quantity: Decimal = field(default=Decimal(0), compare=False)
    document_id: int = field(default=0, compare=False)
    usage: tuple[UsageIn, ...] = field(default=(), compare=False)


@dataclass
class _Contracts:
    subscriptions: list[SubscriptionIn] = field(default_factory=list)
    steps: list[_Step] = field(default_factory=list)
    usage: dict[date, list[UsageIn]] = field(default_factory=lambda: defaultdict(list))  # by the day sent
    amended: int = 0
    cancelled: int = 0
    usage_events: int = 0


def _first_of_next_month(day: date) -> date:
    return day.replace(day=1) + relativedelta(months=1)


def plan_contracts(
    *,
    entity_code: str,
    buyers: list[Buyer],
    subscribers: list[str],
    parent_billed: set[str],
    today: date,
    first_run: date,
    rng: random.Random,
    seq: Callable[[], int],
) -> _Contracts:
    """Each subscriber's contract: platform, seats and onboarding, some of API calls, SMS, storage and
    yearly support; started in the last 14 months; some discounted, with a PO number, billed to the
    parent, amended (more seats) or cancelled; and every usage event of the metered lines."""
    contracts = _Contracts()
    by_number = {b.number: b for b in buyers}
    earliest = today - relativedelta(months=14)
    latest = today - timedelta(days=15)
    for number in subscribers:
        start = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
        if rng.randint(1, 100) <= 35:
            start = max(earliest, start.replace(day=1))
        lines: list[tuple[str, Decimal]] = [
            ("PLATFORM", Decimal(1)),
            ("SEATS", Decimal(rng.randint(3, 60))),
            ("ONBOARDING", Decimal(1)),
        ]
        if rng.randint(1, 100) <= 55:
            lines.append(("API-CALLS", Decimal(1)))
        if rng.randint(1, 100) <= 30:
            lines.append(("STORAGE", Decimal(rng.randint(5, 300) * 5)))
        if rng.randint(1, 100) <= 25:
            lines.append(("SMS", Decimal(1)))
        if rng.randint(1, 100) <= 30:
            lines.append(("SUPPORT", Decimal(1)))
        discount = Decimal(rng.choice((10, 15, 20))) if rng.randint(1, 100) <= 20 else Decimal(0)
        po = f"PO-{rng.randint(4500000000, 4599999999)}" if rng.randint(1, 100) <= 35 else ""
        bill_to = by_number[number].parent if number in parent_billed else ""
        cancel_on = start + timedelta(days=rng.randint(90, 330)) if rng.randint(1, 100) <= 12 else None
        if cancel_on is not None and cancel_on > today - timedelta(days=3):
            cancel_on = None
        amend_on = start + timedelta(days=rng.randint(45, 240)) if rng.randint(1, 100) <= 20 else None
        if amend_on is not None and (cancel_on is not None or amend_on > today - timedelta(days=3)):
            amend_on = None
        for position, (code, quantity) in enumerate(lines, start=1):
            sub_number = f"SUB-{number}-{position:02d}"
            contracts.subscriptions.append(
                SubscriptionIn(
                    number=sub_number,
                    customer_number=number,
                    bill_to_number=bill_to,
                    product_code=code,
                    quantity=quantity,
                    start_date=start,
                    end_date=start if code == "ONBOARDING" else None,
                    discount_percent=discount if code in ("PLATFORM", "SEATS") else Decimal(0),
                    po_number=po,
                )
            )
            if cancel_on is not None and code != "ONBOARDING":
                contracts.steps.append(_Step(cancel_on, 0, seq(), "cancel", entity_code, sub_number))
            if amend_on is not None and code == "SEATS":
                more = quantity + rng.randint(2, 20)
                contracts.steps.append(_Step(amend_on, 0, seq(), "amend", entity_code, sub_number, more))
                contracts.amended += 1
            if code in ("API-CALLS", "SMS"):
                last = min(today - timedelta(days=1), cancel_on or today)
                _plan_usage(contracts, sub_number, code, start, last, today, first_run, rng)
        contracts.cancelled += cancel_on is not None
    for sent in sorted(contracts.usage):  # one batch a day, as a metering system would send them
        contracts.steps.append(
            _Step(sent, 0, seq(), "usage", entity_code, usage=tuple(contracts.usage[sent]))
        )
    return contracts


def _plan_usage(
    contracts: _Contracts,
    sub_number: str,
    code: str,
    first: date,
    last: date,
    today: date,
    first_run: date,
    rng: random.Random,
) -> None:
    """A metered line's events month by month, sent on the first of the next month (before that
    month's run; the months before the first run all at once, this month's today); now and then a
    few late events a month later, which the next run bills as an adjustment."""
    metric = "api_calls" if code == "API-CALLS" else "sms"
    month = first.replace(day=1)
    while month <= last:
        days = [d for d in (month + timedelta(days=n) for n in range(31)) if d.month == month.month]
        days = [d for d in days if first <= d <= last]
        count = rng.randint(6, 14) if code == "API-CALLS" else rng.randint(3, 8)
        events = []
        for index in range(count):
            day = rng.choice(days)
            quantity = rng.randint(500, 12_000) if code == "API-CALLS" else rng.randint(50, 600)
            occurred = datetime.combine(day, time(12, rng.randint(0, 59)), tzinfo=UTC)
            events.append(
                UsageIn(
                    f"{sub_number}-{month:%Y%m}-{index:03d}", sub_number, metric, Decimal(quantity), occurred
                )
            )
        sent = max(first_run, min(today, _first_of_next_month(month)))
        contracts.usage[sent] += events
        contracts.usage_events += len(events)
        late_on = _first_of_next_month(month) + timedelta(days=4)
        if _first_of_next_month(month) >= first_run and late_on < today and rng.randint(1, 100) <= 6:
            late = tuple(
                UsageIn(
                    f"{sub_number}-{month:%Y%m}-late-{index}",
                    sub_number,
                    metric,
                    Decimal(rng.randint(1_000, 20_000) if code == "API-CALLS" else rng.randint(100, 900)),
                    datetime.combine(rng.choice(days), time(18, 0), tzinfo=UTC),
                )
                for index in range(rng.randint(1, 3))
            )
            contracts.usage[late_on] += late
            contracts.usage_events += len(late)
        month = _first_of_next_month(month)


def choose_subscribers(
    buyers: list[Buyer], eligible: set[str], share: int, rng: random.Random
) -> tuple[list[str], set[str]]:
    """About `share` percent of the customers subscribe (only good enough payers); in each group whose
    parent is eligible, subsidiaries that subscribe are billed to the parent (one at least)."""
    candidates = [b.number for b in buyers if b.number in eligible]
    wanted = min(len(candidates), max(1, round(len(buyers) * share / 100)))
    chosen = set(rng.sample(candidates, wanted))
    parent_billed: set[str] = set()
    children: dict[str, list[str]] = defaultdict(list)
    for buyer in buyers:
        if buyer.parent and buyer.parent in eligible and buyer.number in eligible:
            children[buyer.parent].append(buyer.number)
    for parent in sorted(children):
        subsidiaries = sorted(children[parent])
        picked = [n for n in subsidiaries if n in chosen]
        if not picked:
            first = rng.choice(subsidiaries)
            chosen.add(first)
            picked = [first]
        parent_billed.add(picked[0])
        parent_billed.update(n for n in picked[1:] if rng.randint(1, 100) <= 50)
    return sorted(chosen), parent_billed


# --------------------------------------------------------------------------------------------------
# Carrying out the plan
# --------------------------------------------------------------------------------------------------


_DELAY = {"prompt": (-6, 4), "late": (8, 30), "slow": (30, 75), "bad": (75, 220)}


@dataclass
class _Seller:
    entity: LegalEntity
    behaviour: dict[str, str]  # customer number -> payment behaviour
    subscription_ids: dict[str, int] = field(default_factory=dict)


class DemoBilling:
    """The billing side of the demo: `prepare`, then `advance(day)` through the history, then `finish`."""

    def __init__(
        self,
        *,
        entity: LegalEntity,
        users: dict[str, User],
        behaviours: dict[str, str],
        start: date,
        today: date,
        now: datetime,
        seed: int,
        us_customers: int,
        progress: ProgressFactory,
    ) -> None:
        self.main = _Seller(entity, behaviours)
        self.sellers: dict[str, _Seller] = {entity.code: self.main}
        self.users = users
        self.start, self.today, self.now, self.seed = start, today, now, seed
        self.us_customers = us_customers
        self.progress = progress
        self.first_run = (today - relativedelta(months=11)).replace(day=1)
        self.preview_on = _first_of_next_month(today)
        self.steps: list[_Step] = []
        self.seq = itertools.count(1).__next__  # ties between steps of a day go by plan order
        self.counts: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self.advance_runs: Callable[[int], None] = lambda amount: None

    # -- set-up ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Seller data, the US entity and its customers, catalogues, subscriptions and the steps."""
        rng = random.Random(self.seed * 7_368_787 + 11)
        admin, now = self.users["admin"], self.now
        main = self.main.entity
        _seller_setup(main, admin, now)
        us = self._us_entity(rng)
        for seller in self.sellers.values():
            currencies = ("EUR", "GBP", "USD") if seller is self.main else (seller.entity.currency,)
            billing_services.products_import(
                entity=seller.entity, products=products_for(currencies), actor=self.users["berta"], now=now
            )
            self.counts["products"] += len(CATALOGUE)
        buyers = [
            Buyer(c.number, c.currency, c.parent.number if c.parent else "")
            for c in customer_selectors.customer_list(entity_ids=[main.pk])
            .select_related("parent")
            .order_by("number")
        ]
        eligible = {n for n, behaviour in self.main.behaviour.items() if behaviour != "bad"}
        self._contracts(self.main, buyers, eligible, share=33, rng=rng)
        if us is not None:
            us_buyers = [
                Buyer(c.number, c.currency, c.parent.number if c.parent else "")
                for c in customer_selectors.customer_list(entity_ids=[us.entity.pk])
                .select_related("parent")
                .order_by("number")
            ]
            self._contracts(us, us_buyers, set(us.behaviour), share=85, rng=rng)
        month = self.first_run
        while month <= self.today:
            for code in self.sellers:
                self._push(_Step(month, 1, self.seq(), "run", code))
            month = _first_of_next_month(month)
        self.advance_runs = self.progress(
            "billing runs", sum(1 for s in self.steps if s.kind == "run") + len(self.sellers)
        )

    def _us_entity(self, rng: random.Random) -> _Seller | None:
        """The US entity, made unless it exists with customers already (or is the one being filled)."""
        code, name, country, currency, zone = US_ENTITY
        if code in self.sellers:
            return None
        entity = LegalEntity.objects.filter(code=code).first()
        if entity is not None and customer_selectors.customer_list(entity_ids=[entity.pk]).exists():
            return None
        admin = self.users["admin"]
        if entity is None:
            entity = ledger_services.entity_create(
                code=code,
                name=name,
                country=country,
                currency=currency,
                time_zone=zone,
                today=self.today,
                now=self.now,
                actor=admin,
            )
        ledger_services.periods_open(
            entity=entity, first=self.start, last=self.today, now=self.now, reason="demo history", actor=admin
        )
        for user in self.users.values():
            ledger_services.entity_grant(user=user, entity=entity, now=self.now, actor=None)
        _seller_setup(entity, admin, self.now)
        plan = plan_us_customers(self.us_customers, rng)
        _create_us_customers(entity, plan, self.users, self.start, self.now)
        self.counts["us_customers"] = len(plan)
        seller = _Seller(entity, {c.row.number: c.behaviour for c in plan})
        self.sellers[code] = seller
        return seller

    def _contracts(
        self, seller: _Seller, buyers: list[Buyer], eligible: set[str], *, share: int, rng: random.Random
    ) -> None:
        subscribers, parent_billed = choose_subscribers(buyers, eligible, share, rng)
        contracts = plan_contracts(
            entity_code=seller.entity.code,
            buyers=buyers,
            subscribers=subscribers,
            parent_billed=parent_billed,
            today=self.today,
            first_run=self.first_run,
            rng=rng,
            seq=self.seq,
        )
        billing_services.subscriptions_import(
            entity=seller.entity,
            subscriptions=contracts.subscriptions,
            actor=self.users["berta"],
            now=self.now,
        )
        seller.subscription_ids = dict(
            Subscription.objects.filter(entity=seller.entity).values_list("number", "pk")
        )
        for step in contracts.steps:
            self._push(step)
        self.counts["subscriptions"] += len(contracts.subscriptions)
        self.counts["amended"] += contracts.amended
        self.counts["cancelled"] += contracts.cancelled
        self.counts["usage_events"] += contracts.usage_events

    def _push(self, step: _Step) -> None:
        heapq.heappush(self.steps, step)

    # -- carrying out ------------------------------------------------------------------------------

    def advance(self, until: date) -> None:
        """Carry out every step dated on or before `until`, in date order."""
        while self.steps and self.steps[0].on <= until:
            step = heapq.heappop(self.steps)
            if step.kind != "pay":
                self._run_step(step)
                continue
            due = [step]  # the day's payments together: their bank receipts post in one go
            while self.steps and (self.steps[0].on, self.steps[0].kind) == (step.on, "pay"):
                due.append(heapq.heappop(self.steps))
            for code in sorted({s.entity for s in due}):
                self._pay(self.sellers[code], step.on, [s.document_id for s in due if s.entity == code])

    def finish(self) -> BillingSummary:
        """The steps left up to today, then a preview run for next month (drafts, nothing issued)."""
        self.advance(self.today)
        for seller in self.sellers.values():
            result = billing_runs.billing_run(
                entity=seller.entity,
                as_of=self.preview_on,
                issue=False,
                actor=self.users["berta"],
                now=self.now,
                deliver=False,
            )
            self.counts["drafts"] += len(result.documents)
            self.errors += [f"{seller.entity.code} {number}: {message}" for number, message in result.errors]
            self.advance_runs(1)
        return BillingSummary(
            entities=tuple(self.sellers),
            us_customers=self.counts["us_customers"],
            products=self.counts["products"],
            subscriptions=self.counts["subscriptions"],
            amended=self.counts["amended"],
            cancelled=self.counts["cancelled"],
            usage_events=self.counts["usage_events"],
            runs=self.counts["runs"] + len(self.sellers),
            invoices=self.counts["invoices"],
            consolidated=self.counts["consolidated"],
            credit_memos=self.counts["credit_memos"],
            drafts=self.counts["drafts"],
            payments=self.counts["payments"],
            errors=tuple(self.errors),
        )

    def _run_step(self, step: _Step) -> None:
        seller = self.sellers[step.entity]
        berta, now = self.users["berta"], self.now
        if step.kind == "usage":
            billing_services.usage_import(entity=seller.entity, events=step.usage, now=now)
        elif step.kind == "amend":
            billing_services.subscription_amend(
                subscription_id=seller.subscription_ids[step.subscription],
                effective_from=step.on,
                quantity=step.quantity,
                actor=berta,
                now=now,
                reason="more users",
            )
        elif step.kind == "cancel":
            billing_services.subscription_end_set(
                subscription_id=seller.subscription_ids[step.subscription],
                end_date=step.on,
                actor=berta,
                now=now,
                reason="cancelled by the customer",
            )
        elif step.kind == "run":
            self._billing_run(seller, step.on)

    def _billing_run(self, seller: _Seller, as_of: date) -> None:
        result = billing_runs.billing_run(
            entity=seller.entity,
            as_of=as_of,
            issue=True,
            actor=self.users["berta"],
            now=self.now,
            deliver=False,  # the demo's customers are made up
        )
        self.counts["runs"] += 1
        self.errors += [f"{seller.entity.code} {number}: {message}" for number, message in result.errors]
        invoices = [d for d in result.documents if d.document_type == "invoice" and d.total_minor > 0]
        self.counts["invoices"] += len(invoices)
        self.counts["credit_memos"] += sum(1 for d in result.documents if d.document_type == "credit_memo")
        documents = {
            d.pk: d
            for d in Document.objects.filter(pk__in=[i.document_id for i in invoices]).only(
                "pk", "number", "issue_date", "due_date", "origin"
            )
        }
        for invoice in invoices:
            document = documents[invoice.document_id]
            self.counts["consolidated"] += document.origin == Document.Origin.CONSOLIDATED
            behaviour = seller.behaviour.get(invoice.customer_number, "late")
            low, high = _DELAY[behaviour]
            delay = random.Random(f"{self.seed}:{document.number}").randint(low, high)
            paid_on = max(document.issue_date + timedelta(days=1), document.due_date + timedelta(days=delay))
            if paid_on <= self.today:
                self._push(_Step(paid_on, 2, self.seq(), "pay", seller.entity.code, document_id=document.pk))
        self.advance_runs(1)

    def _pay(self, seller: _Seller, on: date, document_ids: list[int]) -> None:
        """Customers pay what is still open of these invoices (a cancellation's credit memo may have
        settled some): the bank receipts as unapplied cash, then each one allocated to its invoice,
        as `demo._bank_receipt` and cash application do it one by one."""
        documents = list(
            Document.objects.filter(pk__in=document_ids, open_minor__gt=0)
            .select_related("customer")
            .order_by("pk")
        )
        if not documents:
            return
        entity, cash = seller.entity, self.users["carl"]
        bank = ledger_selectors.account_id_for(entity=entity, type=AccountType.BANK)
        unapplied = ledger_selectors.account_id_for(entity=entity, type=AccountType.UNAPPLIED_CASH)
        ledger_services.journal_entries_post_bulk(
            entity=entity,
            entries=[
                ledger_services.EntryIn(
                    posting_date=on,
                    description=f"Bank receipt from {document.customer.number} for {document.number}",
                    source_type="demo_bank_receipt",
                    source_id=document.pk,
                    idempotency_key=f"demo-receipt:{document.pk}:{on.isoformat()}:{document.open_minor}",
                    lines=[
                        PostingLine(
                            account_id=bank, currency=document.currency, debit_minor=document.open_minor
                        ),
                        PostingLine(
                            account_id=unapplied,
                            currency=document.currency,
                            credit_minor=document.open_minor,
                            customer_id=document.customer_id,
                        ),
                    ],
                )
                for document in documents
            ],
            now=self.now,
            created_by_id=cash.pk,
        )
        for document in documents:
            receivable_services.allocation_create(
                document_id=document.pk,
                kind="payment",
                amount_minor=document.open_minor,
                posting_date=on,
                actor=cash,
                now=self.now,
                reason="",
            )
        self.counts["payments"] += len(documents)
