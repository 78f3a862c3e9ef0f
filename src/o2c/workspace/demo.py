"""`o2c demo`: a realistic demo company in an empty database, built only through the services.

Everything is deterministic for a seed, `today` and `now`: the same arguments give the same customers,
documents, numbers and amounts. The plan (who buys what when, who pays when) is made first from a
`random.Random(seed)`, as plain values; then it is carried out in date order through the services
(`customers_import`, `document_create` + `document_issue`, `allocation_create`, ...), so the numbers
of each series follow the issue dates and every posting goes through the ledger's one write path.

Money is integer minor units and Decimal: random amounts are `randint` on minor units, never floats.
There is no cash module yet: each payment is posted as a bank receipt (bank against unapplied cash), then
allocated to its invoice (unapplied cash against the receivable), as cash application will do.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from schwifty import IBAN
from stdnum import luhn
from stdnum.es import cif
from stdnum.iso7064 import mod_11_10

from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.customers import selectors as customer_selectors
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.customers.services import CustomerIn
from o2c.customers.terms import PaymentTerms, parse_terms
from o2c.disputes import services as dispute_services
from o2c.disputes.models import Case, ReasonCode
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import FxRateIn
from o2c.receivables import calculations
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import demo_billing, demo_credit, roles
from o2c.workspace.models import UserPreference

PASSWORD = "o2c-demo"
URL = "http://127.0.0.1:8000"
DEFAULT_CUSTOMERS = 300
DEFAULT_SEED = 1
SOURCE = "demo"

# A stage of the work: (description, total) -> advance(n). The command draws it with rich on stderr.
ProgressFactory = Callable[[str, int], Callable[[int], None]]


class UnableToRunDemo(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    role: str
    language: str
    password: str


@dataclass(frozen=True)
class DemoResult:
    entity_code: str
    customers: int
    groups: int
    contacts: int
    bank_accounts: int
    invoices: int
    credit_memos: int
    payments: int
    discounts: int
    write_offs: int
    open_invoices: int
    overdue_invoices: int
    disputed: int
    on_hold: int
    blocked: int
    logins: tuple[DemoLogin, ...]
    billing: demo_billing.BillingSummary | None = None
    dispute_cases: int = 0
    dispute_cases_closed: int = 0
    credit: demo_credit.CreditSummary | None = None


# --------------------------------------------------------------------------------------------------
# Master data: countries, names, products
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    code: str
    currency: str
    language: str
    share: int  # weight in the customer base
    tax_rates: tuple[Decimal, Decimal]  # standard, reduced
    terms: tuple[tuple[str, int], ...]  # payment terms code, weight
    stems: tuple[str, ...]
    sectors: tuple[str, ...]
    forms: tuple[str, ...]
    patterns: tuple[str, ...]  # with {stem}, {sector}, {form}
    holding: str  # name of a group's parent
    subsidiary: str  # name of a group's child in this country
    cities: tuple[tuple[str, str], ...]  # city, postcode
    streets: tuple[str, ...]
    address: str  # with {street}, {no}, {postcode}, {city}
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    phone: str  # with {n}: four random digits, {n2}: two
    ap_role: str


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


def _cities(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((city.strip(), code.strip()) for city, code in (part.split("=") for part in text.split("|")))


COUNTRIES: tuple[_Country, ...] = (
    _Country(
        code="DE",
        currency="EUR",
        language="de",
        share=30,
        tax_rates=(Decimal(19), Decimal(7)),
        terms=(("NET30", 50), ("NET14", 20), ("2/10NET30", 20), ("NET60", 5), ("DUE", 5)),
        stems=_names(
            "Müller|Schäfer|Köhler|Größmann|Weiß|Bäcker|Jäger|Krüger|Möller|Schröder|Löwe|Fürst|Hoffmann"
            "|Brückner|Zimmermann|Hartmann|Kühne|Vögele|Dürr|Schütz|Wörner|Gärtner|Lübke|Böhm"
        ),
        sectors=_names(
            "Maschinenbau|Logistik|Elektrotechnik|Lebensmittel|Präzisionstechnik|Kunststoffwerke|Getränke"
            "|Möbelwerke|Stahlhandel|Softwarehaus|Druckerei|Bauelemente|Verpackungen|Messtechnik"
        ),
        forms=_names("GmbH|AG|GmbH & Co. KG"),
        patterns=_names("{stem} {sector} {form}|{sector} {stem} {form}|{stem} & Söhne {form}"),
        holding="{stem} Holding AG",
        subsidiary="{stem} Deutschland GmbH",
        cities=_cities(
            "München=80331|Köln=50667|Düsseldorf=40213|Nürnberg=90402|Lübeck=23552|Würzburg=97070"
            "|Göttingen=37073|Osnabrück=49074|Saarbrücken=66111|Hamburg=20095|Stuttgart=70173|Berlin=10117"
        ),
        streets=_names(
            "Hauptstraße|Bahnhofstraße|Königsallee|Lindenstraße|Schloßstraße|Industriestraße|Mühlenweg"
        ),
        address="{street} {no}, {postcode} {city}",
        first_names=_names("Jürgen|Sabine|Günter|Käthe|Jörg|Anja|Björn|Ute|Matthias|Sönke"),
        last_names=_names("Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Köhler|Hübner"),
        phone="+49 30 5550{n}",
        ap_role="Kreditorenbuchhaltung",
    ),
    _Country(
        code="FR",
        currency="EUR",
        language="fr",
        share=20,
        tax_rates=(Decimal(20), Decimal("5.5")),
        terms=(("NET30EOM", 45), ("NET60", 25), ("NET30", 25), ("DUE", 5)),
        stems=_names(
            "Lefèvre|Bérard|Gérard|Dupré|Mercier|Fournier|Rousseau|Lemaître|Chevalier|Girard|Boucher|Hélie"
            "|Aubé|Mézières|Théron|Bénard|Crépin|Lévêque|Fèvre|Ménard"
        ),
        sectors=_names(
            "Électricité|Matériaux|Transports|Ingénierie|Métallurgie|Équipements|Agroalimentaire|Télécom"
            "|Bâtiment|Emballages|Pâtisseries Industrielles|Systèmes Numériques"
        ),
        forms=_names("SAS|SARL|SA"),
        patterns=_names("{sector} {stem} {form}|{stem} {sector} {form}|Établissements {stem} {form}"),
        holding="Groupe {stem} SA",
        subsidiary="{stem} France SAS",
        cities=_cities(
            "Paris=75008|Lyon=69002|Orléans=45000|Besançon=25000|Nîmes=30000|Périgueux=24000|Béziers=34500"
            "|Évry=91000|Angoulême=16000|Saint-Étienne=42000|Nantes=44000"
        ),
        streets=_names(
            "rue de la République|rue Victor-Hugo|boulevard Gambetta|place de l'Église|avenue Jean-Jaurès"
            "|rue des Écoles|quai Saint-Éloi"
        ),
        address="{no} {street}, {postcode} {city}",
        first_names=_names("Hélène|François|Amélie|Jérôme|Cécile|Stéphane|Noël|Zoé|Benoît|Léa"),
        last_names=_names("Martin|Bernard|Dubois|Lefèvre|Moreau|Laurent|Lefebvre|Faure|André|Mercier"),
        phone="+33 1 99 00 {n}",
        ap_role="Comptabilité fournisseurs",
    ),
    _Country(
        code="ES",
        currency="EUR",
        language="es",
        share=15,
        tax_rates=(Decimal(21), Decimal(10)),
        terms=(("NET60", 50), ("NET30", 40), ("DUE", 10)),
        stems=_names(
            "Muñoz|Núñez|Ibáñez|Peña|Castaño|Ordóñez|Cañete|Martínez|Sánchez|Fernández|Gómez|Rodríguez"
            "|Pérez|Londoño|Montaña|Yáñez"
        ),
        sectors=_names(
            "Construcciones|Logística|Alimentación|Ingeniería|Distribuciones|Cerámica|Tecnología|Energía"
            "|Diseño|Maquinaria|Aceites"
        ),
        forms=_names("S.L.|S.A."),
        patterns=_names("{sector} {stem} {form}|{stem} {sector} {form}|Hermanos {stem} {form}"),
        holding="Grupo {stem} S.A.",
        subsidiary="{stem} Iberia S.L.",
        cities=_cities(
            "Madrid=28013|A Coruña=15001|Logroño=26001|Cádiz=11001|Málaga=29001|Córdoba=14001|León=24001"
            "|Valencia=46001|Bilbao=48001|Zaragoza=50001"
        ),
        streets=_names(
            "Calle Mayor|Avenida de España|Calle del Doctor Fleming|Paseo de la Castellana"
            "|Calle de la Montaña|Plaza de España|Calle Real"
        ),
        address="{street} {no}, {postcode} {city}",
        first_names=_names("José|María|Iñaki|Begoña|Jesús|Lucía|Álvaro|Nuria|Ramón|Inés"),
        last_names=_names("García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Muñoz|Ibáñez"),
        phone="+34 910 00 {n}",
        ap_role="Cuentas a pagar",
    ),
    _Country(
        code="GB",
        currency="GBP",
        language="en",
        share=15,
        tax_rates=(Decimal(20), Decimal(20)),
        terms=(("NET30", 60), ("NET14", 20), ("NET30EOM", 10), ("DUE", 10)),
        stems=_names(
            "Ashworth|Pemberton|Whitmore|Hargreaves|Thornton|Fairbanks|Kingsley|Blackwood|Harrington"
            "|Cartwright|Aldridge|Sutcliffe|Ramsbottom|Holloway"
        ),
        sectors=_names(
            "Engineering|Logistics|Foods|Software|Components|Construction|Textiles|Instruments|Packaging"
        ),
        forms=_names("Ltd|PLC"),
        patterns=_names("{stem} {sector} {form}|{stem} & Sons {form}|{stem} {sector} Group {form}"),
        holding="{stem} Group PLC",
        subsidiary="{stem} UK Ltd",
        cities=_cities(
            "London=EC1A 1BB|Manchester=M1 1AE|Leeds=LS1 4AP|Bristol=BS1 4DJ|Glasgow=G1 1XQ"
            "|Birmingham=B1 1BB|Cardiff=CF10 1EP|Edinburgh=EH1 1YZ"
        ),
        streets=_names("High Street|Station Road|Church Lane|Victoria Road|Mill Lane|King Street"),
        address="{no} {street}, {city} {postcode}",
        first_names=_names("Oliver|Amelia|Harry|Isla|George|Sophie|Alfie|Grace|Rhys|Fiona"),
        last_names=_names("Smith|Jones|Taylor|Brown|Williams|Wilson|Evans|Thomas|Roberts|Walker"),
        phone="+44 20 7946 {n}",
        ap_role="Accounts payable",
    ),
    _Country(
        code="US",
        currency="USD",
        language="en",
        share=20,
        tax_rates=(Decimal(0), Decimal(0)),
        terms=(("NET30", 50), ("2/10NET30", 25), ("NET60", 20), ("DUE", 5)),
        stems=_names(
            "Anderson|Brooks|Carter|Dawson|Ellis|Foster|Garrison|Hayes|Irving|Jefferson|Keller|Lincoln"
            "|Madison|Porter|Redwood|Summit"
        ),
        sectors=_names(
            "Industries|Technologies|Supply|Manufacturing|Systems|Logistics|Foods|Analytics|Solutions"
        ),
        forms=_names("Inc.|LLC"),
        patterns=_names("{stem} {sector} {form}|{stem} & Co. {form}|{stem} Brothers {form}"),
        holding="{stem} Holdings Inc.",
        subsidiary="{stem} USA Inc.",
        cities=_cities(
            "Austin, TX=78701|Chicago, IL=60601|Denver, CO=80202|Seattle, WA=98101|Boston, MA=02108"
            "|Atlanta, GA=30303|Portland, OR=97204|Phoenix, AZ=85004"
        ),
        streets=_names("Main Street|Oak Avenue|Market Street|Elm Street|Commerce Drive|Lakeview Road"),
        address="{no} {street}, {city} {postcode}",
        first_names=_names("James|Mary|Robert|Patricia|Michael|Jennifer|David|Linda|Daniel|Karen"),
        last_names=_names("Johnson|Miller|Davis|Garcia|Rodriguez|Wilson|Moore|Jackson|White|Harris"),
        phone="+1 555-01{n2}",
        ap_role="Accounts payable",
    ),
)
_BY_CODE = {country.code: country for country in COUNTRIES}


_LANGUAGES = ("en", "de", "fr", "es")


@dataclass(frozen=True)
class _Product:
    names: tuple[str, ...]  # in en, de, fr, es
    price_minor: tuple[int, int]
    quantity: tuple[int, int]
    reduced_rate: bool = False

    def name(self, language: str) -> str:
        return self.names[_LANGUAGES.index(language)]


PRODUCTS: tuple[_Product, ...] = (
    _Product(
        _names(
            "Software licence (annual)|Softwarelizenz (jährlich)|Licence logicielle (annuelle)"
            "|Licencia de software (anual)"
        ),
        (90_000, 900_000),
        (1, 5),
    ),
    _Product(
        _names(
            "Maintenance and support|Wartung und Support|Maintenance et assistance|Mantenimiento y soporte"
        ),
        (20_000, 250_000),
        (1, 3),
    ),
    _Product(
        _names("Consulting (hours)|Beratung (Stunden)|Conseil (heures)|Consultoría (horas)"),
        (9_500, 18_500),
        (2, 40),
    ),
    _Product(_names("Spare parts|Ersatzteile|Pièces détachées|Piezas de repuesto"), (1_500, 45_000), (1, 60)),
    _Product(
        _names(
            "Freight and handling|Fracht und Verpackung|Transport et manutention|Transporte y manipulación"
        ),
        (2_500, 35_000),
        (1, 1),
    ),
    _Product(_names("Training course|Schulung|Formation|Formación"), (40_000, 250_000), (1, 3)),
    _Product(
        _names(
            "Technical handbooks (print)|Technische Handbücher (Druck)|Manuels techniques (imprimés)"
            "|Manuales técnicos (impresos)"
        ),
        (2_500, 9_000),
        (1, 20),
        reduced_rate=True,
    ),
    _Product(
        _names(
            "Catering for on-site workshop|Verpflegung Vor-Ort-Workshop|Restauration atelier sur site"
            "|Catering para taller in situ"
        ),
        (15_000, 90_000),
        (1, 2),
        reduced_rate=True,
    ),
)
CORRECTION = dict(
    zip(
        _LANGUAGES,
        _names("Price correction|Preiskorrektur|Correction de prix|Corrección de precio"),
        strict=True,
    )
)

_BANKS: dict[str, tuple[tuple[str, ...], int]] = {  # bank codes known to schwifty, account number length
    "DE": (("37040044", "10070000", "50010517", "70150000", "20050550", "60050101"), 10),
    "FR": (("3000400828", "2004101005", "3000300100", "1027800001"), 11),
    "ES": (("21000418", "00491500", "01822370", "00810200"), 10),
    "GB": (("NWBK601613", "BARC200000", "LOYD309634", "HBUK400515"), 8),
}

# (username, role, language, first name, last name); one person per role, two collectors
_USERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("admin", roles.ADMIN, "en", "Ada", "Admin"),
    ("berta", roles.BILLING, "de", "Berta", "Brückner"),
    ("carl", roles.CASH_APPLICATION, "en", "Carl", "Cashman"),
    ("claire", roles.COLLECTOR, "fr", "Claire", "Lefèvre"),
    ("colin", roles.COLLECTOR, "en", "Colin", "Collins"),
    ("dana", roles.DISPUTES, "en", "Dana", "Dawson"),
    ("carmen", roles.CREDIT, "es", "Carmen", "Núñez"),
    ("martin", roles.AR_MANAGER, "en", "Martin", "Manning"),
    ("audrey", roles.AUDITOR, "en", "Audrey", "Auden"),
)


# --------------------------------------------------------------------------------------------------
# Valid identifiers: check digits computed with python-stdnum, IBANs with schwifty
# --------------------------------------------------------------------------------------------------


def vat_id_for(country: str, rng: random.Random, *, legal_form: str = "") -> str:
    """A random VAT id that passes python-stdnum's checksum for the country ("" for the US)."""
    if country == "DE":
        base = str(rng.randint(10**7, 10**8 - 1))
        return f"DE{base}{mod_11_10.calc_check_digit(base)}"
    if country == "FR":
        head = str(rng.randint(10**7, 10**8 - 1))
        siren = head + luhn.calc_check_digit(head)
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "ES":
        letter = "A" if legal_form == "S.A." else "B"  # sociedad anónima / limitada
        body = f"{letter}{rng.randint(0, 10**7 - 1):07d}"
        return f"ES{body}{cif.calc_check_digits(body)[0]}"
    if country == "GB":
        digits = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(6))]
        weighted = sum(weight * digit for weight, digit in zip((8, 7, 6, 5, 4, 3, 2), digits, strict=True))
        return "GB" + "".join(map(str, digits)) + f"{-weighted % 97:02d}"
    return ""


def iban_for(country: str, rng: random.Random) -> tuple[str, str]:
    """A valid IBAN (and its BIC) at a real bank of the country."""
    banks, length = _BANKS[country]
    account = "".join(str(rng.randint(0, 9)) for _ in range(length))
    iban = IBAN.generate(country, bank_code=rng.choice(banks), account_code=account)
    bic = iban.bic
    return str(iban.compact), str(bic.compact) if bic is not None else ""


_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
)


def _ascii_slug(text: str) -> str:
    """An ASCII slug for e-mail domains: umlauts transliterated, other accents dropped."""
    text = text.translate(_TRANSLITERATION)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).split())


def _pick_weighted(rng: random.Random, options: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]


def _countries_for(count: int, rng: random.Random) -> list[str]:
    """Exactly `count` country codes in the shares of COUNTRIES (largest remainder), shuffled."""
    total = sum(country.share for country in COUNTRIES)
    exact = [Decimal(count * country.share) / total for country in COUNTRIES]
    parts = [int(value) for value in exact]
    for index in sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))[: count - sum(parts)]:
        parts[index] += 1
    codes = [country.code for country, part in zip(COUNTRIES, parts, strict=True) for _ in range(part)]
    rng.shuffle(codes)
    return codes


# --------------------------------------------------------------------------------------------------
# The plan: pure values from the seed
# --------------------------------------------------------------------------------------------------


@dataclass
class _CustomerPlan:
    row: CustomerIn
    behaviour: str  # prompt, late, slow, bad
    size: str  # key, regular, occasional
    collector: str  # username
    contact: tuple[str, str, str] | None  # name, email, phone
    bank: tuple[str, str] | None  # iban, bic
    pk: int = 0


@dataclass
class _InvoicePlan:
    key: int
    customer: int  # index into the customer plans
    issue_date: date
    due_date: date
    lines: tuple[LineIn, ...]
    total_minor: int
    po_number: str
    document: Document | None = None
    open_minor: int = 0


@dataclass(frozen=True, slots=True)
class _Event:
    """Something that happens to an invoice on a date; amounts are worked out when it runs."""

    on: date
    phase: int  # 0 issue, 1 credit memo, 2 payment, 3 discount or write-off on the same day
    seq: int
    invoice: int
    kind: str  # issue, credit, pay, pay_part, pay_discount, write_off
    percent: int = 100  # pay_part: share of the open amount; credit: share of the invoice
    discount_bp: int = 0  # pay_discount: early-payment discount in hundredths of a percent
    short_minor: int = 0  # pay: left unpaid and written off as a small balance


@dataclass
class _Plan:
    customers: list[_CustomerPlan] = field(default_factory=list)
    groups: int = 0
    invoices: list[_InvoicePlan] = field(default_factory=list)
    events: list[_Event] = field(default_factory=list)


def _company_name(country: _Country, rng: random.Random, used: set[str]) -> str:
    for _ in range(50):
        name = rng.choice(country.patterns).format(
            stem=rng.choice(country.stems), sector=rng.choice(country.sectors), form=rng.choice(country.forms)
        )
        if name not in used:
            used.add(name)
            return name
    name = f"{name} {len(used)}"
    used.add(name)
    return name


def _legal_form(country: _Country, name: str) -> str:
    return next((form for form in sorted(country.forms, key=len, reverse=True) if name.endswith(form)), "")


def _customer_row(
    number: str, name: str, country: _Country, rng: random.Random, *, parent_number: str, size: str
) -> CustomerIn:
    city, postcode = rng.choice(country.cities)
    address = country.address.format(
        street=rng.choice(country.streets), no=rng.randint(1, 180), postcode=postcode, city=city
    )
    limit_steps = {"key": (20, 60), "regular": (5, 20), "occasional": (1, 6)}[size]
    return CustomerIn(
        number=number,
        name=name,
        country=country.code,
        currency=country.currency,
        language=country.language,
        payment_terms=_pick_weighted(rng, country.terms),
        email=f"ap@{_ascii_slug(name)}.example",
        vat_id=vat_id_for(country.code, rng, legal_form=_legal_form(country, name)),
        parent_number=parent_number,
        credit_limit=Decimal(rng.randint(*limit_steps) * 5000),
        address=address,
        crm_id=f"CRM-{rng.randint(100000, 999999)}",
    )


def _plan_customers(count: int, rng: random.Random) -> tuple[list[_CustomerPlan], int]:
    codes = _countries_for(count, rng)
    group_count = max(2, count // 15) if count >= 10 else 0
    used: set[str] = set()
    plans: list[_CustomerPlan] = []
    slot = 0
    remaining_groups = group_count
    while slot < count:
        number = f"C{10001 + slot}"
        if remaining_groups and count - slot >= 4:
            remaining_groups -= 1
            children = min(rng.randint(3, 6), count - slot - 1)
            parent_country = _BY_CODE[codes[slot]]
            stem = rng.choice(parent_country.stems)
            for _ in range(20):  # each group has its own family name
                if parent_country.holding.format(stem=stem) not in used:
                    break
                stem = rng.choice(parent_country.stems)
            name = parent_country.holding.format(stem=stem)
            used.add(name)
            row = _customer_row(number, name, parent_country, rng, parent_number="", size="regular")
            plans.append(_plan(row, rng, size="regular"))
            for offset in range(1, children + 1):
                child_country = _BY_CODE[codes[slot + offset]]
                child_name = child_country.subsidiary.format(stem=stem)
                if child_name in used:
                    child_name = _company_name(child_country, rng, used)
                used.add(child_name)
                size = _pick_weighted(rng, (("key", 10), ("regular", 40), ("occasional", 50)))
                row = _customer_row(
                    f"C{10001 + slot + offset}",
                    child_name,
                    child_country,
                    rng,
                    parent_number=number,
                    size=size,
                )
                plans.append(_plan(row, rng, size=size))
            slot += children + 1
            continue
        country = _BY_CODE[codes[slot]]
        size = _pick_weighted(rng, (("key", 4), ("regular", 26), ("occasional", 70)))
        row = _customer_row(
            number, _company_name(country, rng, used), country, rng, parent_number="", size=size
        )
        plans.append(_plan(row, rng, size=size))
        slot += 1
    return plans, group_count


def _plan(row: CustomerIn, rng: random.Random, *, size: str) -> _CustomerPlan:
    country = _BY_CODE[row.country]
    behaviour = _pick_weighted(rng, (("prompt", 45), ("late", 35), ("slow", 15), ("bad", 5)))
    contact = None
    if rng.randint(1, 100) <= 70:
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        domain = row.email.split("@", 1)[1]
        digits = f"{rng.randint(0, 9999):04d}"
        phone = country.phone.format(n=digits, n2=digits[:2])
        contact = (f"{first} {last}", f"{_ascii_slug(first)}.{_ascii_slug(last)}@{domain}", phone)
    bank = iban_for(row.country, rng) if row.country in _BANKS and rng.randint(1, 100) <= 60 else None
    collector = "claire" if row.currency == "EUR" else "colin"
    return _CustomerPlan(
        row=row, behaviour=behaviour, size=size, collector=collector, contact=contact, bank=bank
    )


def _invoice_dates(size: str, start: date, today: date, rng: random.Random) -> list[date]:
    """Monthly for key accounts, every two or three months for regular ones, a few for the others."""
    if size == "key":
        day = rng.randint(1, 28)
        first = start + relativedelta(day=day)
        if first < start:
            first += relativedelta(months=1)
        months = [first + relativedelta(months=n) for n in range(25)]
        dates = [d for d in months if d <= today]
        dates += [d + timedelta(days=rng.randint(5, 20)) for d in dates if rng.randint(1, 100) <= 10]
        return sorted(d for d in dates if d <= today)
    span = (today - start).days
    if size == "regular":
        count = rng.randint(4, 8)
        first_day = rng.randint(0, span // 4)
    else:
        count = rng.randint(1, 3)
        first_day = rng.randint(0, span - 1)
    return sorted(start + timedelta(days=rng.randint(first_day, span)) for _ in range(count))


def _invoice_lines(country: _Country, size: str, rng: random.Random) -> tuple[LineIn, ...]:
    count = int(_pick_weighted(rng, (("1", 40), ("2", 30), ("3", 20), ("4", 10))))
    products = rng.sample(PRODUCTS, count)
    scale = {"key": 3, "regular": 2, "occasional": 1}[size]
    lines = []
    for product in products:
        low, high = product.quantity
        quantity = Decimal(min(high * scale, rng.randint(low, high) * rng.randint(1, scale)))
        price = Money.from_minor(rng.randint(*product.price_minor), country.currency).amount
        rate = country.tax_rates[1] if product.reduced_rate else country.tax_rates[0]
        lines.append(LineIn(product.name(country.language), quantity, price, rate))
    return tuple(lines)


_DELAY = {"prompt": (-6, 4), "late": (8, 30), "slow": (30, 75), "bad": (75, 220)}


def _plan_documents(plan: _Plan, start: date, today: date, rng: random.Random) -> None:
    seq = 0

    def event(on: date, phase: int, invoice: int, kind: str, **values: int) -> None:
        nonlocal seq
        seq += 1
        plan.events.append(_Event(on=on, phase=phase, seq=seq, invoice=invoice, kind=kind, **values))

    for index, customer in enumerate(plan.customers):
        country = _BY_CODE[customer.row.country]
        terms = parse_terms(customer.row.payment_terms)
        uses_po = rng.randint(1, 100) <= 40
        for issue_date in _invoice_dates(customer.size, start, today, rng):
            lines = _invoice_lines(country, customer.size, rng)
            total = calculations.document_totals(lines, customer.row.currency).total_minor
            key = len(plan.invoices)
            due = terms.due_date(issue_date)
            po = f"PO-45{rng.randint(10_000_000, 99_999_999)}" if uses_po else ""
            plan.invoices.append(_InvoicePlan(key, index, issue_date, due, lines, total, po))
            event(issue_date, 0, key, "issue")
            _plan_settlement(event, plan.invoices[key], customer, terms, today, rng)


def _plan_settlement(
    event: Callable[..., None],
    invoice: _InvoicePlan,
    customer: _CustomerPlan,
    terms: PaymentTerms,
    today: date,
    rng: random.Random,
) -> None:
    """When and how an invoice gets credited, paid or written off; what lands after today stays open."""
    key, issue_date, due, total = invoice.key, invoice.issue_date, invoice.due_date, invoice.total_minor
    discount_date = terms.discount_date(issue_date)
    roll = rng.randint(1, 100)
    if roll <= 5:  # a credit memo: a price correction, now and then the whole invoice
        credit_on = issue_date + timedelta(days=rng.randint(2, 25))
        if credit_on <= today:
            event(
                credit_on, 1, key, "credit", percent=100 if roll == 1 else rng.choice((5, 10, 15, 20, 30, 50))
            )
            if roll == 1:
                return
    low, high = _DELAY[customer.behaviour]
    if customer.behaviour == "bad" and rng.randint(1, 100) <= 30:
        return  # never paid: the oldest buckets
    if rng.randint(1, 100) <= 2:  # forgotten; a small one gets written off half a year later
        if total <= 15_000 and due + timedelta(days=180) <= today:
            event(due + timedelta(days=180), 3, key, "write_off")
        return
    if discount_date is not None and customer.behaviour == "prompt" and rng.randint(1, 100) <= 60:
        paid_on = issue_date + timedelta(days=rng.randint(3, (discount_date - issue_date).days))
        if paid_on <= today:
            event(paid_on, 2, key, "pay_discount", discount_bp=int(terms.discount_percent * 100))
        return
    paid_on = max(issue_date + timedelta(days=1), due + timedelta(days=rng.randint(low, high)))
    if rng.randint(1, 100) <= 5:  # instalments: half first, the rest later (maybe not yet)
        first_on = max(issue_date + timedelta(days=1), paid_on - timedelta(days=rng.randint(20, 40)))
        if first_on <= today:
            event(first_on, 2, key, "pay_part", percent=rng.choice((30, 40, 50)))
    if paid_on > today:
        return
    short = 0
    if rng.randint(1, 100) <= 4:  # short payment: bank charges or rounding, written off as a small balance
        short = min(rng.randint(1, 2500), max(1, total // 50))
    event(paid_on, 2, key, "pay", short_minor=short)


def make_plan(*, seed: int, customers: int, today: date) -> tuple[_Plan, date]:
    """Customers, their invoices and what happens to them, as values; the first date of the history."""
    rng = random.Random(seed)
    start = today - relativedelta(years=2) + timedelta(days=1)
    plan = _Plan()
    plan.customers, plan.groups = _plan_customers(customers, rng)
    _plan_documents(plan, start, today, rng)
    plan.events.sort(key=lambda e: (e.on, e.phase, e.seq))
    return plan, start


def fx_rates(*, start: date, today: date, seed: int) -> list[FxRateIn]:
    """Monthly USD->EUR and GBP->EUR rates from the first month of the history: a bounded random walk
    in steps of 0.0001 (integers, then Decimal)."""
    rng = random.Random(seed * 7919)
    walks = {"USD": (9200, 8500, 9800, 150), "GBP": (11700, 11200, 12200, 120)}
    rates = []
    for currency, (level, low, high, step) in walks.items():
        for month in ledger_services.months_between(start.replace(day=1), today):
            rates.append(FxRateIn(month, currency, "EUR", Decimal(level).scaleb(-4)))
            level = min(high, max(low, level + rng.randint(-step, step)))
    return rates


# --------------------------------------------------------------------------------------------------
# Carrying out the plan through the services
# --------------------------------------------------------------------------------------------------


def has_customers(*, entity: LegalEntity) -> bool:
    return customer_selectors.customer_list(entity_ids=[entity.pk]).exists()


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda amount: None


def _create_users(entity: LegalEntity, now: datetime) -> tuple[dict[str, User], tuple[DemoLogin, ...]]:
    """One person per role (two collectors) and the superuser `admin`, all with the demo password.

    The password is hashed once and shared: the same documented password for everyone, at a
    ninth of the cost. A user who exists already (say, an `admin` made by createsuperuser) keeps
    their password and gets the demo's role, grant and language on top.
    """
    password_hash = make_password(PASSWORD)
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
    users: dict[str, User] = {}
    logins = []
    for username, role, language, first, last in _USERS:
        is_admin = username == "admin"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(
                username=username,
                password=password_hash,
                first_name=first,
                last_name=last,
                email=f"{username}@o2c-demo.example",
                is_staff=is_admin,
                is_superuser=is_admin,
                date_joined=now,
            )
            logins.append(DemoLogin(username, role, language, PASSWORD))
        else:
            logins.append(DemoLogin(username, role, language, "(unchanged)"))
        user.groups.add(groups[role])
        UserPreference.objects.update_or_create(user=user, defaults={"language": language})
        ledger_services.entity_grant(user=user, entity=entity, now=now, actor=None)
        users[username] = user
    return users, tuple(logins)


def _assign_collectors(
    entity: LegalEntity, plan: _Plan, users: dict[str, User], now: datetime, admin: User
) -> None:
    """Portfolios: EUR customers to one collector, GBP and USD to the other."""
    for username, user in users.items():
        ids = [c.pk for c in plan.customers if c.collector == username]
        if ids:
            customer_services.customers_assign_collector(
                customer_ids=ids, collector=user, actor=admin, now=now, reason="demo portfolio"
            )


def _create_customers(
    entity: LegalEntity, plan: _Plan, users: dict[str, User], now: datetime, advance: Callable[[int], None]
) -> tuple[int, int]:
    admin = users["admin"]
    rows = [customer_services.normalized(c.row) for c in plan.customers]
    for customer, row in zip(plan.customers, rows, strict=True):
        customer.row = row
    customer_services.customers_import(entity=entity, rows=rows, actor=admin, now=now, source=SOURCE)
    ids = dict(customer_selectors.customer_list(entity_ids=[entity.pk]).values_list("number", "pk"))
    contacts = banks = 0
    for customer in plan.customers:
        customer.pk = ids[customer.row.number]
        if customer.contact is not None:
            name, email, phone = customer.contact
            role = _BY_CODE[customer.row.country].ap_role
            customer_services.contact_add(
                customer_id=customer.pk,
                name=name,
                email=email,
                phone=phone,
                role=role,
                is_billing=True,
                actor=admin,
                now=now,
            )
            contacts += 1
        if customer.bank is not None:
            iban, bic = customer.bank
            customer_services.bank_account_add(
                customer_id=customer.pk, iban=iban, bic=bic, holder=customer.row.name, actor=admin, now=now
            )
            banks += 1
        advance(1)
    _assign_collectors(entity, plan, users, now, admin)
    return contacts, banks


@dataclass
class _Counts:
    invoices: int = 0
    credit_memos: int = 0
    payments: int = 0
    discounts: int = 0
    write_offs: int = 0


def _bank_receipt(document: Document, amount: int, on: date, actor: User, now: datetime) -> None:
    """The money arriving in the bank, waiting as unapplied cash until it is allocated. The cash
    application module will post this from bank statements; the demo posts it directly."""
    entity = document.entity
    bank = ledger_selectors.account_id_for(entity=entity, type=AccountType.BANK)
    unapplied = ledger_selectors.account_id_for(entity=entity, type=AccountType.UNAPPLIED_CASH)
    receipt = f"demo-receipt:{document.pk}:{on.isoformat()}:{amount}"
    ledger_services.journal_entry_post(
        entity=entity,
        lines=[
            PostingLine(account_id=bank, currency=document.currency, debit_minor=amount),
            PostingLine(
                account_id=unapplied,
                currency=document.currency,
                credit_minor=amount,
                customer_id=document.customer_id,
            ),
        ],
        posting_date=on,
        description=f"Bank receipt from {document.customer.number} for {document.number}",
        source_type="demo_bank_receipt",
        source_id=document.pk,
        idempotency_key=receipt,
        now=now,
        created_by_id=actor.pk,
    )


def _run_event(
    ev: _Event,
    plan: _Plan,
    customers: dict[int, Customer],
    users: dict[str, User],
    now: datetime,
    counts: _Counts,
) -> None:
    invoice = plan.invoices[ev.invoice]
    customer_plan = plan.customers[invoice.customer]
    currency = customer_plan.row.currency

    def allocate(kind: str, amount: int, actor: User, reason: str) -> None:
        if amount <= 0 or invoice.document is None:
            return
        if kind == "payment":
            _bank_receipt(invoice.document, amount, ev.on, actor, now)
        receivable_services.allocation_create(
            document_id=invoice.document.pk,
            kind=kind,
            amount_minor=amount,
            posting_date=ev.on,
            actor=actor,
            now=now,
            reason=reason,
        )
        invoice.open_minor -= amount

    if ev.kind == "issue":
        draft = receivable_services.document_create(
            customer=customers[customer_plan.pk],
            document_type="invoice",
            issue_date=ev.on,
            lines=invoice.lines,
            actor=users["berta"],
            now=now,
            po_number=invoice.po_number,
        )
        issued = receivable_services.document_issue(document_id=draft.pk, actor=users["berta"], now=now)
        invoice.document = issued
        invoice.open_minor = issued.total_minor
        counts.invoices += 1
        return
    if invoice.open_minor <= 0:
        return
    cash = users["carl"]
    if ev.kind == "credit":
        language = customer_plan.row.language
        if ev.percent == 100:
            lines = invoice.lines
        else:
            first = invoice.lines[0]
            price = (
                Money(first.quantity * first.unit_price * ev.percent / 100, currency).round_half_up().amount
            )
            lines = (
                LineIn(f"{CORRECTION[language]} {first.description}", Decimal(1), price, first.tax_rate),
            )
        draft = receivable_services.document_create(
            customer=customers[customer_plan.pk],
            document_type="credit_memo",
            issue_date=ev.on,
            lines=lines,
            actor=users["berta"],
            now=now,
            corrects=invoice.document,
        )
        credit = receivable_services.document_issue(document_id=draft.pk, actor=users["berta"], now=now)
        invoice.open_minor -= min(invoice.open_minor, -credit.total_minor)
        counts.credit_memos += 1
    elif ev.kind == "pay_part":
        allocate("payment", invoice.open_minor * ev.percent // 100, cash, "instalment")
        counts.payments += 1
    elif ev.kind == "pay_discount":
        discount = calculations.percent_of(invoice.total_minor, Decimal(ev.discount_bp).scaleb(-2))
        discount = min(discount, invoice.open_minor - 1)
        allocate("payment", invoice.open_minor - discount, cash, "paid within the discount period")
        allocate("discount", discount, cash, "early payment discount")
        counts.payments += 1
        counts.discounts += 1
    elif ev.kind == "pay":
        short = min(ev.short_minor, invoice.open_minor - 1)
        allocate("payment", invoice.open_minor - short, cash, "")
        counts.payments += 1
        if short > 0:
            allocate("write_off", short, users["martin"], "small balance written off")
            counts.write_offs += 1
    elif ev.kind == "write_off":
        allocate("write_off", invoice.open_minor, users["martin"], "small balance written off")
        counts.write_offs += 1


# (customer's words, reason code, share of the open amount disputed in percent: 100 = all of it)
_DISPUTE_CLAIMS: tuple[tuple[str, str, int], ...] = (
    ("quantity disputed", ReasonCode.QUANTITY, 30),
    ("price differs from the order", ReasonCode.PRICING, 20),
    ("goods damaged in transit", ReasonCode.DAMAGED_GOODS, 100),
    ("no purchase order reference", ReasonCode.OTHER, 100),
)
_DISPUTE_NOTES = (
    "Called the customer's accounts payable: they wait for the corrected figures.",
    "Asked the warehouse for the proof of delivery.",
    "Sales confirms the price agreed in the order confirmation.",
)
MIN_DISPUTES = 6


@dataclass
class _Disputes:
    disputed: int = 0  # invoices disputed now: with an open case
    cases: int = 0
    closed: int = 0


def _open_disputes(
    overdue: list[_InvoicePlan],
    users: dict[str, User],
    today: date,
    now: datetime,
    rng: random.Random,
    counts: _Counts,
) -> _Disputes:
    """Dispute cases on some overdue invoices, opened through the disputes services by the analyst a
    few days after the due date: some with notes, one resolved by a credit memo (applied to its
    invoice), one rejected as invalid; the others stay open and keep their invoices disputed."""
    analyst = users["dana"]
    chosen = rng.sample(overdue, min(len(overdue), max(MIN_DISPUTES, len(overdue) // 12)))
    cases: list[tuple[_InvoicePlan, Case]] = []
    for invoice in sorted(chosen, key=lambda inv: inv.key):
        assert invoice.document is not None
        words, reason, percent = rng.choice(_DISPUTE_CLAIMS)
        amount_minor = max(1, invoice.open_minor * percent // 100)
        opened = min(today, invoice.due_date + timedelta(days=rng.randint(1, 20)))
        opened_at = datetime.combine(opened, now.timetz()) if opened < today else now
        case = dispute_services.case_open(
            document_id=invoice.document.pk,
            amount=Money.from_minor(amount_minor, invoice.document.currency).amount,
            reason_code=reason,
            actor=analyst,
            now=min(opened_at, now),
            customer_reason_code=words,
            owner_id=analyst.pk if rng.randint(1, 100) <= 70 else None,
        )
        cases.append((invoice, case))
    for index, (_, case) in enumerate(cases[: len(_DISPUTE_NOTES)]):
        dispute_services.case_note_add(case_id=case.pk, text=_DISPUTE_NOTES[index], actor=analyst, now=now)
    result = _Disputes(cases=len(cases))
    if len(cases) >= 2:
        credited_invoice, credited = cases[0]
        resolved = dispute_services.case_resolve_credit(
            case_id=credited.pk,
            root_cause="",
            resolution="The customer is right: credited as claimed.",
            actor=analyst,
            now=now,
        )
        if resolved.credit_memo is not None:
            counts.credit_memos += 1
            credited_invoice.open_minor -= min(credited_invoice.open_minor, -resolved.credit_memo.total_minor)
        dispute_services.case_reject(
            case_id=cases[1][1].pk,
            resolution="Delivered in full and signed for: the amount is owed.",
            actor=analyst,
            now=now,
        )
        result.closed = 2
    result.disputed = len(cases) - result.closed  # one case per invoice
    return result


def _flag_disputes_and_holds(
    plan: _Plan, users: dict[str, User], today: date, now: datetime, rng: random.Random, counts: _Counts
) -> tuple[_Disputes, int, int]:
    """After the history: dispute cases on some overdue invoices, credit holds and blocks on poor payers."""
    overdue = [inv for inv in plan.invoices if inv.open_minor > 0 and inv.due_date < today and inv.document]
    disputes = _open_disputes(overdue, users, today, now, rng, counts)
    overdue_customers = {inv.customer for inv in overdue}
    on_hold = blocked = 0
    for index, customer in enumerate(plan.customers):
        if index not in overdue_customers:
            continue
        if customer.behaviour == "bad":
            status, reason = Customer.Status.BLOCKED, "long overdue, handed to collections"
            blocked += 1
        elif customer.behaviour == "slow" and rng.randint(1, 100) <= 50:
            status, reason = Customer.Status.ON_HOLD, "credit hold: overdue balance"
            on_hold += 1
        else:
            continue
        customer.row = replace(customer.row, status=status)
        customer_services.customer_update(
            customer_id=customer.pk, data=customer.row, actor=users["carmen"], now=now, reason=reason
        )
    return disputes, on_hold, blocked


@transaction.atomic
def demo_create(
    *,
    entity: LegalEntity,
    today: date,
    now: datetime,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    progress: ProgressFactory | None = None,
) -> DemoResult:
    """Fill an empty entity with a demo company: users, customers, two years of documents up to `today`,
    and (`demo_billing`) a US entity, contracts, usage and a year of billing runs in both.

    All or nothing, in one transaction; refused when the entity has customers already.
    """
    if customers < 1:
        raise UnableToRunDemo("the demo needs at least one customer", code="bad_customer_count")
    if has_customers(entity=entity):
        raise UnableToRunDemo(
            f"entity {entity.code} has customers already; o2c demo fills an empty database", code="not_empty"
        )
    start_stage = progress or _no_progress
    plan, start = make_plan(seed=seed, customers=customers, today=today)
    ledger_services.periods_open(entity=entity, first=start, last=today, now=now, reason="demo history")
    ledger_services.fx_rates_import(
        rates=fx_rates(start=start, today=today, seed=seed), source=SOURCE, now=now
    )
    users, logins = _create_users(entity, now)
    contacts, banks = _create_customers(
        entity, plan, users, now, start_stage("customers", len(plan.customers))
    )
    by_pk = {c.pk: c for c in customer_selectors.customer_list(entity_ids=[entity.pk])}
    billing = demo_billing.DemoBilling(
        entity=entity,
        users=users,
        behaviours={c.row.number: c.behaviour for c in plan.customers},
        start=start,
        today=today,
        now=now,
        seed=seed,
        us_customers=min(30, max(8, customers // 10)),
        progress=start_stage,
    )
    billing.prepare()
    counts = _Counts()
    advance = start_stage("invoices, credit memos, payments", len(plan.events))
    for done, ev in enumerate(plan.events, start=1):
        billing.advance(ev.on)  # billing-run invoices are numbered in date order among these
        _run_event(ev, plan, by_pk, users, now, counts)
        if done % 50 == 0:
            advance(50)
    advance(len(plan.events) % 50)
    billing.advance(today)
    disputes, on_hold, blocked = _flag_disputes_and_holds(
        plan, users, today, now, random.Random(seed + 1), counts
    )
    billing_summary = billing.finish()
    credit_summary = demo_credit.demo_credit(entity=entity, users=users, today=today, now=now, seed=seed)
    open_invoices = [inv for inv in plan.invoices if inv.open_minor > 0]
    return DemoResult(
        entity_code=entity.code,
        customers=len(plan.customers),
        groups=plan.groups,
        contacts=contacts,
        bank_accounts=banks,
        invoices=counts.invoices,
        credit_memos=counts.credit_memos,
        payments=counts.payments,
        discounts=counts.discounts,
        write_offs=counts.write_offs,
        open_invoices=len(open_invoices),
        overdue_invoices=sum(1 for inv in open_invoices if inv.due_date < today),
        disputed=disputes.disputed,
        on_hold=on_hold,
        blocked=blocked,
        logins=logins,
        billing=billing_summary,
        dispute_cases=disputes.cases,
        dispute_cases_closed=disputes.closed,
        credit=credit_summary,
    )


def demo_entity(*, code: str | None) -> LegalEntity:
    """The legal entity to fill: the one named, or the default entity."""
    if code:
        try:
            return ledger_selectors.entity_get(code=code)
        except LegalEntity.DoesNotExist:
            raise UnableToRunDemo(f"unknown legal entity {code}", code="unknown_entity") from None
    entity = ledger_selectors.entity_default()
    if entity is None:
        raise UnableToRunDemo("there is no legal entity; run `o2c migrate` first", code="no_entity")
    return entity
