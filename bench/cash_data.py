"""Deterministic data for the cash application benchmark: master data, open items, bank files and the truth.

    python -m bench.cash_data OUT_DIR [--customers N] [--open-items N] [--entries N] [--seed N]

Pure: seeded random, no Django, no database, no clock; the same arguments always give the same bytes.
`generate` writes into OUT_DIR:

- customers.csv, invoices.csv (the `o2c import` formats), fx-rates.csv (USD/EUR for the USD items),
  bank-accounts.csv (the payer IBANs "known" from master data: customer_number, iban, bic, holder);
- the bank files, one per format and value date (2026-11-02..06): camt.053.001.08 (EUR), BAI2 (USD),
  MT940 (EUR); each statement balances (opening + entries = closing, BAI2 control totals and counts);
- truth.json: per entry what a careful person would apply (see `Truth record` below);
- manifest.json: the parameters and paths, so a runner can reuse the data (`cached`).

Customers pay in one currency: EUR customers (DE, AT, FR, ES, NL) through camt or MT940, USD customers
(US) through BAI2, so a bank file's currency is always its payers' invoices'. 5 % of customers are on
2/10NET30 with every open invoice issued 2026-10-25..31 (the discount is still valid on the value dates);
3 % are parents of 2-5 subsidiaries. Invoice numbers are one series of the seller: 90 % INV-2026-NNNNNN,
10 % legacy RE26/NNNNN.

Truth record: {"file", "entry_reference" (the bank's reference, unique over all files), "format", "kind",
"value_date", "currency", "amount", "customer_number" (who the cash is from; the parent for a parent's
payment; null when nobody can tell), "lines": [{"invoice_number", "amount", "discount", "write_off",
"deduction"}], "on_account" (cash left on the customer's account), "needs_person" (true for
unidentifiable and ambiguous entries: nothing may be posted without a person), "candidates" (ambiguous:
the invoices that fit)}. Amounts are decimal strings; money is integer minor units throughout, never float.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from schwifty import IBAN

from o2c.documents.references import rf_reference  # pure (stdnum): no Django set-up needed

SEED = 20261102
VALUE_DATES = tuple(date(2026, 11, 2) + timedelta(days=day) for day in range(5))
FIRST_ISSUE = date(2026, 9, 1)
LAST_ISSUE = date(2026, 10, 31)
DISCOUNT_FIRST_ISSUE = date(2026, 10, 25)
DISCOUNT_DAYS = 10

MIX: dict[str, int] = {
    "exact": 45,
    "noisy_reference": 15,
    "multi": 8,
    "discount": 4,
    "short_pay": 3,
    "bank_fee": 3,
    "overpayment": 2,
    "rf_reference": 3,
    "no_reference_amount": 5,
    "name_only": 4,
    "parent": 2,
    "third_party": 2,
    "unidentifiable": 2,
    "ambiguous": 2,
}
"""The noise mix, in percent of entries (any positive weights do)."""
FORMATS: dict[str, int] = {"camt": 50, "bai2": 30, "mt940": 20}
EUR_ONLY = frozenset({"rf_reference", "no_reference_amount", "ambiguous"})
"""Kinds that need an IBAN or an RF reference: European payers only (BAI2 carries no payer IBAN)."""
NEEDS_PERSON = frozenset({"unidentifiable", "ambiguous"})
UNIQUE_AMOUNT = frozenset({"no_reference_amount", "name_only", "unidentifiable"})
"""Generated last: their amounts are checked against every open amount and every deduction left open."""
USD_SHARE = 30  # percent of customers in the US, paying through BAI2
DISCOUNT_SHARE = 5
PARENT_SHARE = 3
KNOWN_IBAN_SHARE = 60
DUPLICATE_NAME_PER_MILLE = 5
"""Customers that share their name with another one (a person must tell them apart)."""

OWN_CAMT_IBAN = str(IBAN.generate("DE", bank_code="10070000", account_code="0123456700"))
OWN_MT940_IBAN = str(IBAN.generate("DE", bank_code="50010517", account_code="0648489890"))
OWN_BAI2_ACCOUNT = "4031876529"
OWN_ROUTING = "021000021"
OWN_NAME = "O2C Demo GmbH"

# --- names ---------------------------------------------------------------------------------------------

SURNAMES = {
    "de": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
        "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
        "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
        "Krause", "Meier", "Lehmann", "Köhler", "Maier", "Huber", "Kaiser", "Fuchs", "Peters", "Scholz",
        "Möller", "Weiß", "Jäger", "Günther", "Vogel", "Friedrich", "Keller", "Böhm", "Frank", "Berger",
    ),
    "fr": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
        "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
    ),
    "es": (
        "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
        "Ruiz", "Hernández", "Jiménez", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Navarro", "Torres",
        "Domínguez", "Vázquez", "Ramos", "Gil", "Serrano", "Blanco", "Molina", "Castro", "Ortiz", "Rubio",
    ),
    "nl": (
        "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
        "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen",
        "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs",
    ),
    "us": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
        "Moore", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
        "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
        "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards",
    ),
}  # fmt: skip
INDUSTRIES = {
    "de": (
        "Maschinenbau", "Metallbau", "Logistik", "Elektrotechnik", "Haustechnik", "Bau", "Holzbau",
        "Kunststofftechnik", "Feinmechanik", "Lebensmittel", "Getränke", "Druck", "Verpackung", "Autohaus",
        "Medizintechnik", "Anlagenbau", "Systemtechnik", "Gebäudeservice", "Spedition", "Handel",
        "Stahlbau", "Textil", "Möbel", "Landtechnik", "Energietechnik", "Software", "Optik", "Papier",
    ),
    "fr": (
        "Boulangerie", "Transports", "Menuiserie", "Électricité", "Plomberie", "Imprimerie", "Garage",
        "Pharmacie", "Quincaillerie", "Boucherie", "Charpente", "Maçonnerie", "Fromagerie", "Librairie",
        "Distribution", "Emballages", "Textiles", "Conseil", "Informatique", "Mécanique",
    ),
    "es": (
        "Transportes", "Construcciones", "Distribuciones", "Talleres", "Suministros", "Muebles", "Aceites",
        "Conservas", "Maderas", "Electricidad", "Fontanería", "Imprenta", "Embalajes", "Textiles",
        "Ingeniería", "Servicios", "Hierros", "Vinos", "Frutas", "Cerámicas",
    ),
    "nl": (
        "Transport", "Bouw", "Installatietechniek", "Metaal", "Logistiek", "Groothandel", "Bloemen",
        "Techniek", "Machinebouw", "Verpakkingen", "Drukkerij", "Zuivel", "Scheepvaart", "Elektro",
    ),
    "us": (
        "Industrial Supply", "Manufacturing", "Logistics", "Foods", "Plastics", "Machine Works", "Electric",
        "Packaging", "Building Products", "Distribution", "Tool & Die", "Auto Parts", "Medical Supply",
        "Printing", "Steel", "Hardware", "Farms", "Freight", "Engineering", "Systems", "Paper Products",
    ),
}  # fmt: skip
LEGAL_FORMS = {
    "de": ("GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "OHG"),
    "fr": ("SARL", "SAS", "SAS", "SA", "EURL"),
    "es": ("S.L.", "S.L.", "S.A.", "S.L.U."),
    "nl": ("B.V.", "B.V.", "B.V.", "N.V.", "V.O.F."),
    "us": ("Inc.", "Inc.", "LLC", "LLC", "Corp.", "Co."),
}
BRAND_HEADS = (
    "Nova", "Terra", "Alpha", "Omni", "Nord", "Sol", "Quant", "Flex", "Medi", "Agri", "Bio", "Data", "Euro",
    "Inter", "Multi", "Trans", "Aqua", "Velo", "Kino", "Pro", "Hydro", "Ther", "Vita", "Lumi", "Kraft",
    "Stella", "Ventu", "Orbi", "Cara", "Neo", "Tera", "Maxi", "Sigma", "Delta", "Arca", "Pluri",
)  # fmt: skip
BRAND_TAILS = (
    "tec", "lux", "tronic", "form", "plan", "line", "med", "soft", "tex", "cor", "nova", "werk", "tek",
    "via", "ion", "ix", "ara", "ento", "sys", "mar", "pack", "log", "vent", "print",
)  # fmt: skip
REGIONS = {
    "de": ("Nord", "Süd", "West", "Ost", "Service", "Vertrieb", "Bayern", "Sachsen"),
    "fr": ("Nord", "Sud", "Est", "Ouest", "Services", "Île-de-France"),
    "es": ("Norte", "Sur", "Levante", "Servicios", "Cataluña"),
    "nl": ("Noord", "Zuid", "Oost", "West", "Services"),
    "us": ("East", "West", "Midwest", "Texas", "Services", "Holdings"),
}
MARKETS = (  # country, language for names, customer language, weight among EUR customers
    ("DE", "de", "de", 50),
    ("AT", "de", "de", 10),
    ("FR", "fr", "fr", 15),
    ("ES", "es", "es", 10),
    ("NL", "nl", "en", 15),
)
BANKS = {  # country -> (bank code, branch code) choices for the payers' IBANs
    "DE": (("37040044", ""), ("10070000", ""), ("20050550", ""), ("70150000", ""), ("60050101", ""),
           ("50010517", ""), ("43060967", ""), ("76050101", "")),
    "AT": (("12000", ""), ("20111", ""), ("32000", ""), ("14000", "")),
    "NL": (("INGB", ""), ("RABO", ""), ("ABNA", ""), ("SNSB", "")),
    "FR": (("30006", "00001"), ("30004", "00820"), ("30003", "03620"), ("10278", "06076")),
    "ES": (("2100", "0418"), ("0049", "1500"), ("0182", "2370"), ("0081", "0200")),
}  # fmt: skip
ACCOUNT_DIGITS = {"DE": 10, "AT": 11, "NL": 10, "FR": 11, "ES": 10}
TERMS = ("NET30",) * 12 + ("NET14", "NET14", "NET45", "NET60", "NET60")
THIRD_PARTIES = {
    "EUR": (
        ("PayPal Europe S.a r.l. et Cie S.C.A", "NL", "INGB"),
        ("Stripe Technology Europe Ltd", "NL", "ABNA"),
        ("Klarna Bank AB (publ)", "DE", "10070000"),
        ("Adyen N.V.", "NL", "RABO"),
        ("Mollie B.V.", "NL", "INGB"),
        ("Wise Europe SA", "DE", "37040044"),
    ),
    "USD": (("BILL.COM", "", ""), ("TIPALTI INC", "", ""), ("AVIDXCHANGE INC", "", ""), ("PAYONEER", "", "")),
}
PERSON_FIRST = ("Hans-Peter", "Sabine", "Jürgen", "Claudia", "Luc", "Émilie", "Javier", "Lucía", "Sven",
                "Anke", "Joost", "Mary", "Robert", "Linda", "Kevin", "Marta")  # fmt: skip
PERSON_LAST = ("Ackermann", "Brandt", "Dietrich", "Engel", "Haas", "Ziegler", "Lemaire", "Chevalier",
               "Iglesias", "Cabrera", "Verbeek", "Kuipers", "Sullivan", "Fletcher", "Brennan")  # fmt: skip
UNIDENTIFIED_TEXTS = ("", "Zahlung", "Überweisung", "Rückzahlung Kaution", "Spende", "Mitgliedsbeitrag 2026",
                      "Payment", "Erstattung", "Virement", "Transferencia", "Danke")  # fmt: skip
US_UNIDENTIFIED_TEXTS = ("", "REFUND", "PAYMENT", "DEPOSIT", "TRANSFER")
US_NO_REFERENCE_TEXTS = ("", "", "PAYMENT", "AP PAYMENT", "VENDOR PMT")
NO_REFERENCE_TEXTS = ("", "", "Zahlung", "Überweisung", "Payment", "Virement", "Pago", "Betaling",
                      "Offene Posten", "Zahlung Oktober")  # fmt: skip
PREFIXES = {
    "de": ("Rechnung ", "Rechnungsnr. ", "Rg. ", "RE-Nr. ", "Rechnung Nr. "),
    "fr": ("Facture ", "Facture n° ", "Fact. ", "Facture no "),
    "es": ("Factura ", "Factura nº ", "Fra. ", "Fact. "),
    "nl": ("Factuur ", "Factuurnr. ", "Invoice "),
    "us": ("Invoice ", "Inv. no. ", "inv#", "INV# ", "Invoice No "),
}
DEDUCTIONS = {
    "de": ("abzgl. Reklamation", "abzgl. Transportschaden", "abzüglich Gutschrift Beschädigung",
           "Kürzung wegen Mängel"),
    "fr": ("retenue litige qualité", "déduction marchandise abîmée"),
    "es": ("descuento por mercancía dañada", "deducción reclamación"),
    "nl": ("less damaged goods", "deduction damaged goods"),
    "us": ("less damaged goods", "short paid - damaged goods", "deduction pricing claim",
           "less freight claim"),
}  # fmt: skip
DISCOUNT_WORDS = {
    "de": ("abzgl. 2% Skonto", "2% Skonto", "minus 2 % Skonto"),
    "fr": ("escompte 2%", "moins escompte 2%"),
    "es": ("dto. pronto pago 2%",),
    "nl": ("2% korting",),
    "us": ("less 2% discount", "2/10 discount taken"),
}
SEPARATORS = (" ", ".", "/", "_", " - ")
OCR = {"0": "O", "1": "l", "5": "S", "8": "B"}

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_PUNCTUATION = re.compile(r"[^A-Z0-9]+")
_FORM_TOKENS = frozenset(
    {"GMBH", "CO", "KG", "AG", "E", "K", "EK", "OHG", "SARL", "SAS", "SA", "EURL", "S", "L", "A", "U", "SL",
     "SLU", "B", "V", "N", "O", "F", "BV", "NV", "VOF", "INC", "LLC", "CORP", "LTD", "AND", "UND", "ET", "Y"}
)  # fmt: skip


def _ascii(text: str) -> str:
    """German transliteration first (as German banks write names), then accents dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in decomposed if ord(ch) < 128)


def _core(name: str) -> str:
    """A name's identifying words: upper case ASCII, punctuation and legal forms gone."""
    tokens = _PUNCTUATION.sub(" ", _ascii(name).upper()).split()
    return " ".join(token for token in tokens if token not in _FORM_TOKENS)


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def _comma(minor: int) -> str:
    """MT940's amount: decimal comma."""
    return f"{minor // 100},{minor % 100:02d}"


# --- the model -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Customer:
    index: int
    number: str
    name: str
    country: str
    style: str
    """The names' language: de, fr, es, nl, us."""
    language: str
    currency: str
    terms: str
    iban: str
    bic: str
    known: bool
    originator_id: str
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    invoices: list[int] = field(default_factory=list)
    name_shared: bool = False


@dataclass(slots=True)
class _Line:
    invoice: int
    amount: int
    discount: int = 0
    write_off: int = 0
    deduction: int = 0


@dataclass(slots=True)
class _Entry:
    kind: str
    file_format: str
    value_date: date
    currency: str
    amount: int
    customer: int | None
    lines: list[_Line]
    on_account: int
    payer_name: str
    payer_iban: str = ""
    payer_bic: str = ""
    text: str = ""
    structured: str = ""
    end_to_end: str = "NOTPROVIDED"
    bai2_type: str = "165"
    candidates: tuple[int, ...] = ()
    reference: str = ""
    file: str = ""


@dataclass(frozen=True)
class CashFiles:
    """What `generate` wrote, in the order a runner uses it."""

    directory: Path
    customers: Path
    invoices: Path
    fx_rates: Path
    bank_accounts: Path
    bank_files: tuple[Path, ...]
    """In import order: value date, then camt, BAI2, MT940."""
    truth: Path
    customer_count: int
    open_items: int
    entries: int
    kinds: dict[str, int]
    formats: dict[str, int]


class _Cannot(Exception):
    """This entry cannot be made from the data left (small sizes): another kind is made instead."""


def _largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Counts in proportion to the weights that sum exactly to `total`."""
    whole = sum(weights.values())
    if whole <= 0:
        raise ValueError("the weights must sum to more than zero")
    counts = {key: total * weight // whole for key, weight in weights.items()}
    order = list(weights)
    rest = sorted(order, key=lambda key: (-(total * weights[key] % whole), order.index(key)))
    for key in rest[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


# --- the generator -------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, *, customers: int, open_items: int, entries: int, seed: int, mix: Mapping[str, int]):
        if customers < 10 or open_items < customers or entries < 1 or entries > open_items // 2:
            raise ValueError(
                "need at least 10 customers, at least one open item per customer and at most one entry "
                "per two open items"
            )
        unknown = set(mix) - set(MIX)
        if unknown:
            raise ValueError(f"unknown kinds in the mix: {', '.join(sorted(unknown))}")
        self.rng = random.Random(seed)
        self.seed = seed
        self.mix = dict(mix)
        self.entry_count = entries
        self.customers: list[_Customer] = []
        # the invoices, column-wise (a million rows)
        self.numbers: list[str] = []
        self.owner: list[int] = []
        self.issue: list[date] = []
        self.due: list[date] = []
        self.total: list[int] = []
        self.open: list[int] = []
        self.used = bytearray()
        self.by_currency: dict[str, list[int]] = {"EUR": [], "USD": []}
        self.left_open: dict[int, list[int]] = {}
        """Per customer: what short pays left open (deductions), which an amount could be mistaken for."""
        self._discountable: dict[str, list[int]] = {}
        self._open_amounts: set[tuple[str, int]] | None = None
        self._make_customers(customers)
        self._make_invoices(open_items)
        self._parents = [customer for customer in self.customers if customer.children]
        self._name_index()

    # --- customers ---

    def _make_customers(self, count: int) -> None:
        rng = self.rng
        usd = count * USD_SHARE // 100
        markets = [market for market in MARKETS for _ in range(market[3])]
        seen: set[str] = set()
        for index in range(count):
            if index % 100 < USD_SHARE and usd > 0:
                country, style, language, currency = "US", "us", "en", "USD"
                usd -= 1
            else:
                country, style, language, _ = rng.choice(markets)
                currency = "EUR"
            name = self._unique_name(style, seen)
            terms = "2/10NET30" if rng.randrange(100) < DISCOUNT_SHARE else rng.choice(TERMS)
            iban = bic = ""
            if currency == "EUR":
                bank, branch = rng.choice(BANKS[country])
                account = f"{rng.randrange(1, 10 ** ACCOUNT_DIGITS[country]):0{ACCOUNT_DIGITS[country]}d}"
                generated = IBAN.generate(country, bank_code=bank, account_code=account, branch_code=branch)
                iban = str(generated)
                found = generated.bic
                bic = str(found) if found is not None else ""
            self.customers.append(
                _Customer(
                    index=index,
                    number=f"C{index + 1:06d}",
                    name=name,
                    country=country,
                    style=style,
                    language=language,
                    currency=currency,
                    terms=terms,
                    iban=iban,
                    bic=bic,
                    known=currency == "EUR" and rng.randrange(100) < KNOWN_IBAN_SHARE,
                    originator_id=f"1{rng.randrange(10**9):09d}",
                )
            )
        # a few customers share another's name exactly (a person tells them apart by other facts)
        for _ in range(count * DUPLICATE_NAME_PER_MILLE // 1000):
            first, second = rng.sample(self.customers, 2)
            if first.style == second.style and not first.name_shared and not second.name_shared:
                second.name = first.name
                first.name_shared = second.name_shared = True
        self._make_groups(count)

    def _unique_name(self, style: str, seen: set[str]) -> str:
        rng = self.rng
        for _ in range(50):
            surname = rng.choice(SURNAMES[style])
            industry = rng.choice(INDUSTRIES[style])
            brand = rng.choice(BRAND_HEADS) + rng.choice(BRAND_TAILS)
            pattern = rng.randrange(10)
            if pattern < 4:
                core = f"{industry} {surname}" if style in ("fr", "es") else f"{surname} {industry}"
            elif pattern < 6:
                other = rng.choice(SURNAMES[style])
                if other == surname:
                    continue
                core = f"{surname} & {other}" if style != "es" else f"{surname} y {other}"
            elif pattern < 9:
                core = f"{brand} {industry}"
            else:
                core = f"{brand} {surname}" if style != "us" else f"{brand} {industry}"
            key = _core(core)
            if key in seen:
                continue
            seen.add(key)
            return f"{core} {rng.choice(LEGAL_FORMS[style])}"
        raise RuntimeError("bench: ran out of customer names")  # pragma: no cover

    def _make_groups(self, count: int) -> None:
        """3 % of customers become parents of 2-5 subsidiaries of their currency, named after them."""
        rng = self.rng
        order = list(range(count))
        rng.shuffle(order)
        pools = {
            currency: [i for i in order if self.customers[i].currency == currency]
            for currency in ("EUR", "USD")
        }
        taken: set[int] = set()
        parents = count * PARENT_SHARE // 100
        for index in order:
            if parents <= 0:
                break
            parent = self.customers[index]
            if index in taken:
                continue
            pool = pools[parent.currency]
            wanted = rng.randint(2, 5)
            children: list[int] = []
            while pool and len(children) < wanted:
                candidate = pool.pop()
                if candidate != index and candidate not in taken:
                    children.append(candidate)
            if len(children) < 2:
                break
            taken.update(children)
            taken.add(index)
            parents -= 1
            regions = list(REGIONS[parent.style])
            rng.shuffle(regions)
            stem = _without_form(parent.name, parent.style)
            for child_index, region in zip(children, regions, strict=False):
                child = self.customers[child_index]
                child.parent = index
                child.name = f"{stem} {region} {rng.choice(LEGAL_FORMS[parent.style])}"
                parent.children.append(child_index)

    # --- invoices ---

    def _make_invoices(self, count: int) -> None:
        rng = self.rng
        customers = self.customers
        weights = [50 if rng.randrange(100) < 5 else rng.randint(1, 10) for _ in customers]
        # everyone has at least one open item; the rest by weight
        owners = list(range(len(customers))) + rng.choices(
            range(len(customers)), weights=weights, k=count - len(customers)
        )
        span = (LAST_ISSUE - FIRST_ISSUE).days
        discount_span = (LAST_ISSUE - DISCOUNT_FIRST_ISSUE).days
        rows: list[tuple[date, int, int, int, int]] = []
        for owner in owners:
            customer = customers[owner]
            if _discounted(customer):
                issue = DISCOUNT_FIRST_ISSUE + timedelta(days=rng.randint(0, discount_span))
            else:
                issue = FIRST_ISSUE + timedelta(days=rng.randint(0, span))
            total = self._amount()
            open_minor = total
            if rng.randrange(100) < 5 and not _discounted(customer):
                open_minor = rng.randint(total // 10, total - 1)  # partly paid before
            rows.append((issue, rng.randrange(1 << 30), owner, total, open_minor))
        rows.sort()
        legacy = 0
        current = 0
        for issue, _, owner, total, open_minor in rows:
            if rng.randrange(100) < 10 and legacy < 99_999:
                legacy += 1
                number = f"RE26/{legacy:05d}"
            else:
                current += 1
                number = f"INV-2026-{current:06d}"
            index = len(self.numbers)
            customer = customers[owner]
            self.numbers.append(number)
            self.owner.append(owner)
            self.issue.append(issue)
            self.due.append(issue + timedelta(days=_net_days(customer.terms)))
            self.total.append(total)
            self.open.append(open_minor)
            customer.invoices.append(index)
            self.by_currency[customer.currency].append(index)
        self.used = bytearray(len(self.numbers))

    def _amount(self) -> int:
        """50.00 .. 50,000.00 in minor units, mostly a few hundred to a few thousand; some round."""
        rng = self.rng
        bucket = rng.randrange(100)
        if bucket < 15:
            minor = rng.randint(5_000, 20_000)
        elif bucket < 60:
            minor = rng.randint(20_000, 200_000)
        elif bucket < 90:
            minor = rng.randint(200_000, 1_000_000)
        else:
            minor = rng.randint(1_000_000, 5_000_000)
        if rng.randrange(100) < 8:
            minor = max(5_000, minor // 100 * 100)
        return minor

    # --- names a payer's bank writes ---

    def _name_index(self) -> None:
        self.by_core: dict[str, list[int]] = {}
        self.by_tokens: dict[str, list[int]] = {}
        for customer in self.customers:
            core = _core(customer.name)
            self.by_core.setdefault(core, []).append(customer.index)
            self.by_tokens.setdefault(" ".join(sorted(core.split())), []).append(customer.index)
        self.cores = sorted(self.by_core)

    def _identifies(self, written: str, customer: _Customer) -> bool:
        """Whether a careful person can tell the customer from the name as written, and no other: the
        same words, the same words in another order, or (a cut name) the start of its name."""
        core = _core(written)
        if not core:
            return False
        found = set(self.by_core.get(core, ()))
        found.update(self.by_tokens.get(" ".join(sorted(core.split())), ()))
        if len(core) >= 8:
            position = bisect_left(self.cores, core)
            while position < len(self.cores) and self.cores[position].startswith(core):
                found.update(self.by_core[self.cores[position]])
                position += 1
        return found == {customer.index}

    def _bank_name(self, customer: _Customer, file_format: str, *, variant: bool = False) -> str:
        """The payer's name as the bank writes it: as registered, or a variant of it."""
        rng = self.rng
        name = customer.name
        if file_format == "bai2":
            return _ascii(name).upper()
        if variant or rng.randrange(100) < 30:
            changes: list[Callable[[str], str]] = [str.upper, _ascii, _drop_form, _swap_words]
            if len(name) > 35:
                changes.append(lambda text: text[:35].rstrip())
            for change in rng.sample(changes, rng.randint(1, 2)):
                name = change(name)
            if name == customer.name:
                name = name.upper()
        return name

    # --- entries ---

    def entries(self) -> list[_Entry]:
        rng = self.rng
        kinds = _largest_remainder(self.entry_count, self.mix)
        formats = _largest_remainder(self.entry_count, FORMATS)
        slots: list[tuple[str, str]] = []
        european = [kind for kind in kinds for _ in range(kinds[kind]) if kind in EUR_ONLY]
        eur_split = _largest_remainder(len(european), {"camt": FORMATS["camt"], "mt940": FORMATS["mt940"]})
        eur_formats = ["camt"] * eur_split["camt"] + ["mt940"] * eur_split["mt940"]
        rng.shuffle(eur_formats)
        slots += zip(european, eur_formats, strict=True)
        left = {
            "camt": max(formats["camt"] - eur_split["camt"], 0),
            "bai2": formats["bai2"],
            "mt940": max(formats["mt940"] - eur_split["mt940"], 0),
        }
        others = [kind for kind in kinds for _ in range(kinds[kind]) if kind not in EUR_ONLY]
        other_formats = [name for name in left for _ in range(left[name])][: len(others)]
        other_formats += ["camt"] * (len(others) - len(other_formats))
        rng.shuffle(other_formats)
        slots += zip(others, other_formats, strict=True)
        # ambiguous pairs first (they change an amount), amount-unique kinds last (they check amounts)
        slots.sort(key=lambda slot: (slot[0] != "ambiguous", slot[0] in UNIQUE_AMOUNT))
        made: list[_Entry] = []
        for kind, file_format in slots:
            made.append(self._entry(kind, file_format))
        return made

    def _entry(self, kind: str, file_format: str) -> _Entry:
        makers: dict[str, Callable[[str], _Entry]] = {
            "exact": self._exact,
            "noisy_reference": self._noisy,
            "multi": self._multi,
            "discount": self._discount,
            "short_pay": self._short_pay,
            "bank_fee": self._bank_fee,
            "overpayment": self._overpayment,
            "rf_reference": self._rf,
            "no_reference_amount": self._no_reference,
            "name_only": self._name_only,
            "parent": self._parent,
            "third_party": self._third_party,
            "unidentifiable": self._unidentifiable,
            "ambiguous": self._ambiguous,
        }
        try:
            return makers[kind](file_format)
        except _Cannot:
            return self._exact(file_format)

    def _currency(self, file_format: str) -> str:
        return "USD" if file_format == "bai2" else "EUR"

    def _free(self, currency: str, accept: Callable[[int], bool] = lambda _: True, tries: int = 400) -> int:
        """A random open item of the currency that no entry pays yet."""
        pool = self.by_currency[currency]
        for _ in range(tries):
            index = pool[self.rng.randrange(len(pool))]
            if not self.used[index] and accept(index):
                return index
        raise _Cannot

    def _take(self, *indexes: int) -> None:
        for index in indexes:
            self.used[index] = 1

    def _payer(self, customer: _Customer, file_format: str, **extra: Any) -> dict[str, Any]:
        rng = self.rng
        payer: dict[str, Any] = {"payer_name": self._bank_name(customer, file_format)}
        if file_format != "bai2":
            payer["payer_iban"] = customer.iban
            payer["payer_bic"] = customer.bic
            if rng.randrange(100) < 30:
                payer["end_to_end"] = f"E2E-9{rng.randrange(10**9):09d}"
        else:
            payer["bai2_type"] = "165" if rng.randrange(100) < 65 else "195"
        payer.update(extra)
        return payer

    def _single(
        self, kind: str, file_format: str, invoice: int, text: str, line: _Line, *, on_account: int = 0
    ) -> _Entry:
        customer = self.customers[self.owner[invoice]]
        self._take(invoice)
        amount = line.amount + on_account
        return _Entry(
            kind=kind,
            file_format=file_format,
            value_date=self.rng.choice(VALUE_DATES),
            currency=customer.currency,
            amount=amount,
            customer=customer.index,
            lines=[line],
            on_account=on_account,
            text=text,
            **self._payer(customer, file_format),
        )

    def _exact(self, file_format: str) -> _Entry:
        invoice = self._free(self._currency(file_format))
        number = self.numbers[invoice]
        text = number
        if self.rng.randrange(100) < 15:
            text = f"{number} vom {self.issue[invoice]:%d.%m.%Y}"
        if file_format == "bai2" and self.rng.randrange(100) < 50:
            text = f"RMR*IV*{number}*{_money(self.open[invoice])}\\"
        return self._single("exact", file_format, invoice, text, _Line(invoice, self.open[invoice]))

    def _noisy(self, file_format: str) -> _Entry:
        invoice = self._free(self._currency(file_format))
        customer = self.customers[self.owner[invoice]]
        text = self._noise(self.numbers[invoice], customer.style)
        return self._single("noisy_reference", file_format, invoice, text, _Line(invoice, self.open[invoice]))

    def _noise(self, number: str, style: str) -> str:
        """The number as a payer or an OCR writes it: separators, zeros, O/0 l/1 S/5 B/8, case, a prefix."""
        rng = self.rng
        changes = ["separators_removed", "separators_changed", "zeros_dropped", "ocr", "lower", "prefix"]
        chosen = rng.sample(changes, rng.randint(1, 2))
        text = number
        for change in chosen:
            if change == "separators_removed":
                text = text.replace("-", "").replace("/", "")
            elif change == "separators_changed":
                separator = rng.choice(SEPARATORS)
                text = text.replace("-", separator).replace("/", separator)
            elif change == "zeros_dropped":
                text = re.sub(r"(?<=[-/ ._])0+(?=[1-9])", "", text)
            elif change == "ocr":
                positions = [i for i, ch in enumerate(text) if ch in OCR and i >= 3]
                for position in rng.sample(positions, min(len(positions), rng.randint(1, 2))):
                    text = text[:position] + OCR[text[position]] + text[position + 1 :]
            elif change == "lower":
                text = text.lower()
        if "prefix" in chosen or text == number:
            text = rng.choice(PREFIXES[style]) + text
        return text

    def _multi(self, file_format: str) -> _Entry:
        rng = self.rng
        currency = self._currency(file_format)
        wanted = rng.choices((2, 3, 4, 5), weights=(50, 30, 12, 8))[0]
        for _ in range(50):
            first = self._free(currency)
            customer = self.customers[self.owner[first]]
            free = [i for i in customer.invoices if not self.used[i] and i != first]
            if free:
                break
        else:
            raise _Cannot
        invoices = [first, *rng.sample(free, min(len(free), wanted - 1))]
        invoices.sort(key=lambda index: self.numbers[index])
        self._take(*invoices)
        separator = rng.choice((", ", " ", " + ", "; ", " / "))
        numbers = [self.numbers[i] for i in invoices]
        text = separator.join(numbers)
        if rng.randrange(100) < 40:
            label = {"de": "Rechnungen ", "fr": "Factures ", "es": "Facturas ", "nl": "Facturen "}
            text = label.get(customer.style, "Invoices ") + text
        lines = [_Line(i, self.open[i]) for i in invoices]
        return _Entry(
            kind="multi",
            file_format=file_format,
            value_date=rng.choice(VALUE_DATES),
            currency=currency,
            amount=sum(line.amount for line in lines),
            customer=customer.index,
            lines=lines,
            on_account=0,
            text=text,
            **self._payer(customer, file_format),
        )

    def _discount(self, file_format: str) -> _Entry:
        currency = self._currency(file_format)

        def eligible(index: int) -> bool:
            terms = self.customers[self.owner[index]].terms
            return terms.startswith("2/") and self.open[index] == self.total[index]

        if currency not in self._discountable:
            self._discountable[currency] = [i for i in self.by_currency[currency] if eligible(i)]
        pool = self._discountable[currency]
        for _ in range(400):
            invoice = pool[self.rng.randrange(len(pool))] if pool else -1
            if invoice >= 0 and not self.used[invoice]:
                break
        else:
            raise _Cannot
        customer = self.customers[self.owner[invoice]]
        # 2 % of the gross, rounded half up to the cent, as the invoice prints it
        discount = (self.total[invoice] * 2 + 50) // 100
        paid = self.open[invoice] - discount
        last_day = self.issue[invoice] + timedelta(days=DISCOUNT_DAYS)
        dates = [day for day in VALUE_DATES if day <= last_day]
        text = self.numbers[invoice]
        if self.rng.randrange(100) < 60:
            text += " " + self.rng.choice(DISCOUNT_WORDS[customer.style])
        entry = self._single("discount", file_format, invoice, text, _Line(invoice, paid, discount=discount))
        entry.value_date = self.rng.choice(dates)
        return entry

    def _short_pay(self, file_format: str) -> _Entry:
        rng = self.rng
        invoice = self._free(self._currency(file_format), lambda i: self.open[i] >= 10_000)
        customer = self.customers[self.owner[invoice]]
        open_minor = self.open[invoice]
        deduction = max(1_000, open_minor * rng.randint(3, 30) // 100)
        if rng.randrange(100) < 50:
            deduction = max(1_000, deduction // 100 * 100)
        paid = open_minor - deduction
        words = rng.choice(DEDUCTIONS[customer.style])
        text = f"{self.numbers[invoice]} {words}"
        if rng.randrange(100) < 40:
            amount = _money(deduction) if customer.style == "us" else _money(deduction).replace(".", ",")
            text += f" {amount}"
        self.left_open.setdefault(customer.index, []).append(deduction)
        return self._single(
            "short_pay", file_format, invoice, text, _Line(invoice, paid, deduction=deduction)
        )

    def _bank_fee(self, file_format: str) -> _Entry:
        invoice = self._free(self._currency(file_format), lambda i: self.open[i] >= 2_000)
        fee = self.rng.randint(50, 499)
        return self._single(
            "bank_fee",
            file_format,
            invoice,
            self.numbers[invoice],
            _Line(invoice, self.open[invoice] - fee, write_off=fee),
        )

    def _overpayment(self, file_format: str) -> _Entry:
        rng = self.rng
        invoice = self._free(self._currency(file_format))
        open_minor = self.open[invoice]
        if rng.randrange(2):
            extra = rng.randint(1_000, 50_000)
        else:  # rounded up to the next hundred
            extra = (open_minor // 10_000 + 1) * 10_000 - open_minor
        return self._single(
            "overpayment",
            file_format,
            invoice,
            self.numbers[invoice],
            _Line(invoice, open_minor),
            on_account=extra,
        )

    def _rf(self, file_format: str) -> _Entry:
        invoice = self._free("EUR")
        reference = rf_reference(self.numbers[invoice])
        compact = reference.replace(" ", "")
        entry = self._single("rf_reference", file_format, invoice, "", _Line(invoice, self.open[invoice]))
        if file_format == "camt":
            entry.structured = compact
        else:
            entry.text = reference if self.rng.randrange(2) else compact
        return entry

    def _unique_amount(self, invoice: int) -> bool:
        """The open amount is the only one of its value among the customer's group's open items, and no
        short pay of the group left that much open."""
        customer = self.customers[self.owner[invoice]]
        target = self.open[invoice]
        group = [customer.index, *customer.children]
        same = sum(1 for member in group for i in self.customers[member].invoices if self.open[i] == target)
        left = any(target in self.left_open.get(member, ()) for member in group)
        return same == 1 and not left

    def _no_reference(self, file_format: str) -> _Entry:
        def eligible(index: int) -> bool:
            return self.customers[self.owner[index]].known and self._unique_amount(index)

        invoice = self._free("EUR", eligible)
        entry = self._single(
            "no_reference_amount",
            file_format,
            invoice,
            self.rng.choice(NO_REFERENCE_TEXTS),  # EUR only
            _Line(invoice, self.open[invoice]),
        )
        entry.end_to_end = "NOTPROVIDED"
        return entry

    def _name_only(self, file_format: str) -> _Entry:
        rng = self.rng
        currency = self._currency(file_format)
        for _ in range(200):
            invoice = self._free(currency)
            customer = self.customers[self.owner[invoice]]
            if customer.known or customer.parent is not None or customer.children:
                continue
            if not self._unique_amount(invoice):
                continue
            bai2_type = "195"
            if file_format == "bai2":
                name = _ascii(customer.name).upper()[:35].rstrip()
                if rng.randrange(100) < 50:
                    name, bai2_type = name[:16].rstrip(), "165"  # NACHA's company name field
            else:
                name = self._bank_name(customer, file_format, variant=True)
            if not self._identifies(name, customer):
                continue
            self._take(invoice)
            other_iban = ""
            if file_format != "bai2":
                # an account the customer never used with us: not in master data
                bank, branch = rng.choice(BANKS[customer.country])
                digits = ACCOUNT_DIGITS[customer.country]
                other_iban = str(
                    IBAN.generate(
                        customer.country,
                        bank_code=bank,
                        account_code=f"{rng.randrange(1, 10**digits):0{digits}d}",
                        branch_code=branch,
                    )
                )
            return _Entry(
                kind="name_only",
                file_format=file_format,
                value_date=rng.choice(VALUE_DATES),
                currency=currency,
                amount=self.open[invoice],
                customer=customer.index,
                lines=[_Line(invoice, self.open[invoice])],
                on_account=0,
                payer_name=name,
                payer_iban=other_iban,
                text=rng.choice(US_NO_REFERENCE_TEXTS if currency == "USD" else NO_REFERENCE_TEXTS),
                bai2_type=bai2_type,
            )
        raise _Cannot

    def _parent(self, file_format: str) -> _Entry:
        rng = self.rng
        currency = self._currency(file_format)
        parents = [c for c in self._parents if c.currency == currency]
        for parent in rng.sample(parents, min(len(parents), 50)):
            free = [
                i for child in parent.children for i in self.customers[child].invoices if not self.used[i]
            ]
            if not free:
                continue
            invoices = sorted(
                rng.sample(free, min(len(free), rng.randint(1, 3))), key=self.numbers.__getitem__
            )
            self._take(*invoices)
            lines = [_Line(i, self.open[i]) for i in invoices]
            return _Entry(
                kind="parent",
                file_format=file_format,
                value_date=rng.choice(VALUE_DATES),
                currency=currency,
                amount=sum(line.amount for line in lines),
                customer=parent.index,
                lines=lines,
                on_account=0,
                text=rng.choice((", ", " ")).join(self.numbers[i] for i in invoices),
                **self._payer(parent, file_format),
            )
        raise _Cannot

    def _third_party(self, file_format: str) -> _Entry:
        rng = self.rng
        currency = self._currency(file_format)
        invoice = self._free(currency)
        customer = self.customers[self.owner[invoice]]
        service, country, bank = rng.choice(THIRD_PARTIES[currency])
        number = self.numbers[invoice]
        text = rng.choice(
            (
                f"{number} {customer.name}",
                f"Payment on behalf of {customer.name} {number}",
                f"{number}",
            )
        )
        iban = ""
        if country:
            digits = ACCOUNT_DIGITS[country]
            # the service's collection account: one per service, the same for every payment
            account = f"{(sum(map(ord, service)) * 7919) % 10**digits:0{digits}d}"
            iban = str(IBAN.generate(country, bank_code=bank, account_code=account))
        self._take(invoice)
        return _Entry(
            kind="third_party",
            file_format=file_format,
            value_date=rng.choice(VALUE_DATES),
            currency=currency,
            amount=self.open[invoice],
            customer=customer.index,
            lines=[_Line(invoice, self.open[invoice])],
            on_account=0,
            payer_name=service.upper() if file_format == "bai2" else service,
            payer_iban=iban,
            text=text[:140],
            bai2_type="165",
        )

    def _unidentifiable(self, file_format: str) -> _Entry:
        rng = self.rng
        currency = self._currency(file_format)
        if self._open_amounts is None:
            self._open_amounts = {
                (self.customers[self.owner[i]].currency, self.open[i]) for i in range(len(self.open))
            } | {
                (self.customers[c].currency, minor)
                for c, amounts in self.left_open.items()
                for minor in amounts
            }
        for _ in range(100):
            amount = self._amount()
            if (currency, amount) not in self._open_amounts:
                break
        else:
            raise _Cannot
        name = f"{rng.choice(PERSON_FIRST)} {rng.choice(PERSON_LAST)}"
        iban = ""
        if file_format != "bai2":
            country = rng.choice(("DE", "AT", "NL"))
            bank, _ = rng.choice(BANKS[country])
            digits = ACCOUNT_DIGITS[country]
            iban = str(
                IBAN.generate(
                    country, bank_code=bank, account_code=f"{rng.randrange(1, 10**digits):0{digits}d}"
                )
            )
        return _Entry(
            kind="unidentifiable",
            file_format=file_format,
            value_date=rng.choice(VALUE_DATES),
            currency=currency,
            amount=amount,
            customer=None,
            lines=[],
            on_account=0,
            payer_name=_ascii(name).upper() if file_format == "bai2" else name,
            payer_iban=iban,
            text=rng.choice(US_UNIDENTIFIED_TEXTS if currency == "USD" else UNIDENTIFIED_TEXTS),
            bai2_type="165",
        )

    def _ambiguous(self, file_format: str) -> _Entry:
        rng = self.rng

        def eligible(index: int) -> bool:
            customer = self.customers[self.owner[index]]
            return customer.known and self.open[index] == self.total[index]

        for _ in range(100):
            first = self._free("EUR", eligible)
            customer = self.customers[self.owner[first]]
            twins = [
                i
                for i in customer.invoices
                if i != first and not self.used[i] and self.open[i] == self.total[i]
            ]
            if not twins:
                continue
            second = rng.choice(twins)
            target = self.open[first]
            group = [customer.index, *customer.children]
            same = [i for m in group for i in self.customers[m].invoices if self.open[i] == target]
            if len(same) > 1:
                continue
            # a second invoice of the same amount (a monthly fee, a repeated order)
            self.total[second] = self.open[second] = target
            self._take(first, second)
            return _Entry(
                kind="ambiguous",
                file_format=file_format,
                value_date=rng.choice(VALUE_DATES),
                currency="EUR",
                amount=target,
                customer=customer.index,
                lines=[],
                on_account=0,
                text=rng.choice(NO_REFERENCE_TEXTS),
                candidates=tuple(sorted((first, second), key=self.numbers.__getitem__)),
                **self._payer(customer, file_format, end_to_end="NOTPROVIDED"),
            )
        raise _Cannot

    # --- writing ---

    def truth_record(self, entry: _Entry) -> dict[str, Any]:
        return {
            "file": entry.file,
            "entry_reference": entry.reference,
            "format": entry.file_format,
            "kind": entry.kind,
            "value_date": entry.value_date.isoformat(),
            "currency": entry.currency,
            "amount": _money(entry.amount),
            "customer_number": self.customers[entry.customer].number if entry.customer is not None else None,
            "lines": [
                {
                    "invoice_number": self.numbers[line.invoice],
                    "amount": _money(line.amount),
                    "discount": _money(line.discount),
                    "write_off": _money(line.write_off),
                    "deduction": _money(line.deduction),
                }
                for line in entry.lines
            ],
            "on_account": _money(entry.on_account),
            "needs_person": entry.kind in NEEDS_PERSON,
            "candidates": [self.numbers[i] for i in entry.candidates],
        }


def _discounted(customer: _Customer) -> bool:
    return customer.terms.startswith("2/")


def _net_days(terms: str) -> int:
    return int(terms.rsplit("NET", 1)[1])


def _without_form(name: str, style: str) -> str:
    for form in sorted(set(LEGAL_FORMS[style]), key=len, reverse=True):
        if name.endswith(" " + form):
            return name[: -len(form) - 1]
    return name


def _drop_form(name: str) -> str:
    for style in LEGAL_FORMS:
        shorter = _without_form(name, style)
        if shorter != name:
            return shorter
    return name


def _swap_words(name: str) -> str:
    words = name.split(" ")
    if len(words) < 2 or words[1] in ("&", "y"):
        return name
    return " ".join([words[1], words[0], *words[2:]])


# --- file formats --------------------------------------------------------------------------------------


def _camt(entries: Sequence[_Entry], day: date, opening: int, sequence: int) -> bytes:
    closing = opening + sum(entry.amount for entry in entries)
    parts = []
    for entry in entries:
        amount = _money(entry.amount)
        party = f"<RltdPties><Dbtr><Pty><Nm>{escape(entry.payer_name[:140])}</Nm></Pty></Dbtr>"
        if entry.payer_iban:
            party += f"<DbtrAcct><Id><IBAN>{entry.payer_iban}</IBAN></Id></DbtrAcct>"
        party += "</RltdPties>"
        agent = ""
        if entry.payer_bic:
            agent = (
                f"<RltdAgts><DbtrAgt><FinInstnId><BICFI>{entry.payer_bic}</BICFI></FinInstnId></DbtrAgt>"
                "</RltdAgts>"
            )
        remittance = ""
        if entry.text or entry.structured:
            remittance = "<RmtInf>"
            if entry.text:
                remittance += f"<Ustrd>{escape(entry.text[:140])}</Ustrd>"
            if entry.structured:
                remittance += (
                    "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
                    f"<Ref>{escape(entry.structured)}</Ref></CdtrRefInf></Strd>"
                )
            remittance += "</RmtInf>"
        parts.append(
            f'<Ntry><NtryRef>{entry.reference}</NtryRef><Amt Ccy="EUR">{amount}</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><ValDt><Dt>{day.isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{entry.reference}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
            "<Prtry><Cd>NTRF+166</Cd><Issr>DK</Issr></Prtry></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{entry.reference}</AcctSvcrRef>"
            f"<EndToEndId>{escape(entry.end_to_end)}</EndToEndId></Refs>"
            f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"{party}{agent}{remittance}</TxDtls></NtryDtls></Ntry>\n"
        )
    stamp = f"{day.isoformat()}T20:15:00+01:00"
    previous = (day - timedelta(days=3 if day.weekday() == 0 else 1)).isoformat()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">\n'
        f"<BkToCstmrStmt><GrpHdr><MsgId>CAMT053-{day:%Y%m%d}-{sequence:04d}</MsgId>"
        f"<CreDtTm>{stamp}</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>STMT-{day:%Y%m%d}</Id><ElctrncSeqNb>{sequence}</ElctrncSeqNb><CreDtTm>{stamp}</CreDtTm>"
        f"<Acct><Id><IBAN>{OWN_CAMT_IBAN}</IBAN></Id><Ccy>EUR</Ccy><Ownr><Nm>{escape(OWN_NAME)}</Nm></Ownr>"
        "</Acct>\n"
        f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{_money(opening)}</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{previous}</Dt></Dt></Bal>\n"
        f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{_money(closing)}</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>\n"
        f"<TxsSummry><TtlCdtNtries><NbOfNtries>{len(entries)}</NbOfNtries>"
        f"<Sum>{_money(closing - opening)}</Sum></TtlCdtNtries></TxsSummry>\n"
        + "".join(parts)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


def _bai2_text(entry: _Entry, customers: Sequence[_Customer]) -> str:
    """A US bank's text of an ACH credit (NACHA CCD fields) or of a wire (originator, OBI): ASCII."""
    remittance = _ascii(entry.text)
    if entry.bai2_type == "195":
        text = f"ORIGINATOR:{entry.payer_name[:35]}  BNF:{OWN_NAME.upper()}"
        return text + (f"  OBI:{remittance}" if remittance else "")
    originator = customers[entry.customer].originator_id if entry.customer is not None else "9999999999"
    text = (
        f"ORIG CO NAME:{entry.payer_name[:16].rstrip()}  ORIG ID:{originator}  ENTRY DESCR:PAYMENT  "
        f"SEC:CCD  IND NAME:{OWN_NAME.upper()}"
    )
    return text + (f"  PMT DET:{remittance}" if remittance else "")


def _bai2(
    entries: Sequence[_Entry], day: date, opening: int, file_id: int, customers: Sequence[_Customer]
) -> bytes:
    credits = sum(entry.amount for entry in entries)
    closing = opening + credits
    as_of = f"{day:%y%m%d}"
    records = [f"01,{OWN_ROUTING},O2CDEMO,{as_of},2200,{file_id},,,2/"]
    records.append(f"02,O2CDEMO,{OWN_ROUTING},1,{as_of},2400,USD,2/")
    account = [f"03,{OWN_BAI2_ACCOUNT},USD,010,{opening},,,015,{closing},,,100,{credits},{len(entries)},/"]
    for entry in entries:
        account.append(
            f"16,{entry.bai2_type},{entry.amount},Z,{entry.reference},,{_bai2_text(entry, customers)}/"
        )
    account_total = opening + closing + credits + credits
    account.append(f"49,{account_total},{len(account) + 1}/")
    records += account
    records.append(f"98,{account_total},1,{len(account) + 2}/")
    records.append(f"99,{account_total},1,{len(records) + 1}/")
    return ("\n".join(records) + "\n").encode("ascii")


def _subfields(values: Iterable[tuple[str, str]]) -> list[str]:
    return [f"?{number}{value}" for number, value in values if value]


_REMITTANCE_FIELDS = ("20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "60", "61", "62", "63")


def _mt940_86(entry: _Entry) -> list[str]:
    """The German structured :86: (GVC 166, SEPA credit transfer), as lines of at most 65 characters."""
    name = _ascii(entry.payer_name)[:54]
    eref = f"EREF+{entry.end_to_end}"
    remittance = "SVWZ+" + _ascii(entry.text)[:140] if entry.text else ""
    chunks = [eref] + [remittance[i : i + 27] for i in range(0, len(remittance), 27)]
    fields = [("00", "GUTSCHR. UEBERWEISUNG"), ("10", "931")]
    fields += list(zip(_REMITTANCE_FIELDS, chunks, strict=False))
    fields += [("30", entry.payer_bic), ("31", entry.payer_iban), ("32", name[:27]), ("33", name[27:54])]
    fields.append(("34", "000"))
    lines = [":86:166"]
    for subfield in _subfields(fields):
        if len(lines[-1]) + len(subfield) > 65:
            lines.append(subfield)
        else:
            lines[-1] += subfield
    return lines


def _mt940(entries: Sequence[_Entry], day: date, opening: int, number: int) -> bytes:
    closing = opening + sum(entry.amount for entry in entries)
    previous = day - timedelta(days=3 if day.weekday() == 0 else 1)
    lines = [
        f":20:STMT{day:%y%m%d}",
        f":25:{OWN_MT940_IBAN}",
        f":28C:{number:05d}/001",
        f":60F:C{previous:%y%m%d}EUR{_comma(opening)}",
    ]
    for entry in entries:
        lines.append(f":61:{day:%y%m%d}{day:%m%d}C{_comma(entry.amount)}NTRFNONREF//{entry.reference}")
        lines += _mt940_86(entry)
    lines += [f":62F:C{day:%y%m%d}EUR{_comma(closing)}", "-"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


# --- the public function ---------------------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _fx_rows(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """USD->EUR daily, a random walk in millionths (no float anywhere near a rate)."""
    rows = []
    micro = 920_000
    day = date(2026, 8, 1)
    while day <= date(2026, 12, 31):
        micro += rng.randint(-3_000, 3_000)
        rows.append((day.isoformat(), "USD", "EUR", f"{micro // 1_000_000}.{micro % 1_000_000:06d}"))
        day += timedelta(days=1)
    return rows


FILE_ORDER = ("camt", "bai2", "mt940")
CUSTOMER_COLUMNS = ("customer_number", "name", "country", "currency", "language", "payment_terms", "email",
                    "vat_id", "parent_number", "credit_limit")  # fmt: skip
INVOICE_COLUMNS = ("invoice_number", "customer_number", "issue_date", "due_date", "currency", "amount",
                   "open_amount", "po_number")  # fmt: skip
_FILE_NAMES = {"camt": "camt053_{:%Y%m%d}.xml", "bai2": "bai2_{:%Y%m%d}.txt", "mt940": "mt940_{:%Y%m%d}.sta"}
_REFERENCE_PREFIX = {"camt": "CT", "bai2": "BA", "mt940": "MT"}


def generate(
    out_dir: Path,
    *,
    customers: int,
    open_items: int,
    entries: int,
    seed: int = SEED,
    mix: Mapping[str, int] | None = None,
) -> CashFiles:
    """Write the data set into out_dir (created if needed; files there are replaced)."""
    generator = _Generator(
        customers=customers, open_items=open_items, entries=entries, seed=seed, mix=mix or MIX
    )
    made = generator.entries()
    rng = generator.rng
    out_dir.mkdir(parents=True, exist_ok=True)

    _write_csv(
        out_dir / "customers.csv",
        CUSTOMER_COLUMNS,
        (
            (
                c.number,
                c.name,
                c.country,
                c.currency,
                c.language,
                c.terms,
                f"ap{c.index + 1}@{re.sub(r'[^a-z0-9]+', '-', _ascii(c.name).lower()).strip('-')}.example",
                "",
                generator.customers[c.parent].number if c.parent is not None else "",
                f"{(c.index % 50 + 1) * 10_000}.00" if c.index % 3 == 0 else "",
            )
            for c in generator.customers
        ),
    )
    _write_csv(
        out_dir / "invoices.csv",
        INVOICE_COLUMNS,
        (
            (
                generator.numbers[i],
                generator.customers[generator.owner[i]].number,
                generator.issue[i].isoformat(),
                generator.due[i].isoformat(),
                generator.customers[generator.owner[i]].currency,
                _money(generator.total[i]),
                _money(generator.open[i]),
                f"PO-{4_500_000_000 + i * 7 % 1_000_000}" if i % 5 == 0 else "",
            )
            for i in range(len(generator.numbers))
        ),
    )
    _write_csv(out_dir / "fx-rates.csv", ("date", "from_currency", "to_currency", "rate"), _fx_rows(rng))
    _write_csv(
        out_dir / "bank-accounts.csv",
        ("customer_number", "iban", "bic", "holder"),
        ((c.number, c.iban, c.bic, c.name) for c in generator.customers if c.known),
    )

    by_file: dict[tuple[date, str], list[_Entry]] = {}
    for entry in made:
        by_file.setdefault((entry.value_date, entry.file_format), []).append(entry)
    bank_files: list[Path] = []
    balances = {"camt": 125_000_000, "bai2": 84_250_000, "mt940": 43_817_250}
    records: list[dict[str, Any]] = []
    for number, day in enumerate(VALUE_DATES, start=1):
        for file_format in FILE_ORDER:
            file_entries = by_file.get((day, file_format), [])
            if not file_entries:
                continue
            rng.shuffle(file_entries)
            name = _FILE_NAMES[file_format].format(day)
            for position, entry in enumerate(file_entries, start=1):
                entry.reference = f"{_REFERENCE_PREFIX[file_format]}{day:%y%m%d}{position:07d}"
                entry.file = name
            opening = balances[file_format]
            if file_format == "camt":
                data = _camt(file_entries, day, opening, number)
            elif file_format == "bai2":
                data = _bai2(file_entries, day, opening, number, generator.customers)
            else:
                data = _mt940(file_entries, day, opening, 300 + number)
            balances[file_format] = opening + sum(entry.amount for entry in file_entries)
            path = out_dir / name
            path.write_bytes(data)
            bank_files.append(path)
            records += (generator.truth_record(entry) for entry in file_entries)

    kinds: dict[str, int] = {}
    formats: dict[str, int] = {}
    for entry in made:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
        formats[entry.file_format] = formats.get(entry.file_format, 0) + 1
    parameters = {
        "customers": customers,
        "open_items": open_items,
        "entries": entries,
        "seed": seed,
        "mix": dict(mix or MIX),
    }
    truth = out_dir / "truth.json"
    truth.write_text(
        json.dumps({"parameters": parameters, "records": records}, ensure_ascii=False, indent=0) + "\n",
        encoding="utf-8",
    )
    files = CashFiles(
        directory=out_dir,
        customers=out_dir / "customers.csv",
        invoices=out_dir / "invoices.csv",
        fx_rates=out_dir / "fx-rates.csv",
        bank_accounts=out_dir / "bank-accounts.csv",
        bank_files=tuple(bank_files),
        truth=truth,
        customer_count=customers,
        open_items=len(generator.numbers),
        entries=len(made),
        kinds=dict(sorted(kinds.items())),
        formats=formats,
    )
    manifest = {
        "parameters": parameters,
        "bank_files": [path.name for path in bank_files],
        "open_items": files.open_items,
        "entries": files.entries,
        "kinds": files.kinds,
        "formats": files.formats,
    }
    # written last: its presence says the data set is complete
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return files


def cached(
    out_dir: Path, *, customers: int, open_items: int, entries: int, seed: int = SEED
) -> CashFiles | None:
    """The data set already in out_dir when it was generated with these parameters (and the default mix)."""
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    wanted = {"customers": customers, "open_items": open_items, "entries": entries, "seed": seed, "mix": MIX}
    if manifest.get("parameters") != wanted:
        return None
    return CashFiles(
        directory=out_dir,
        customers=out_dir / "customers.csv",
        invoices=out_dir / "invoices.csv",
        fx_rates=out_dir / "fx-rates.csv",
        bank_accounts=out_dir / "bank-accounts.csv",
        bank_files=tuple(out_dir / name for name in manifest["bank_files"]),
        truth=out_dir / "truth.json",
        customer_count=customers,
        open_items=manifest["open_items"],
        entries=manifest["entries"],
        kinds=manifest["kinds"],
        formats=manifest["formats"],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--open-items", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    files = generate(
        args.out_dir,
        customers=args.customers,
        open_items=args.open_items,
        entries=args.entries,
        seed=args.seed,
    )
    print(json.dumps({"entries": files.entries, "kinds": files.kinds, "formats": files.formats}, indent=2))


if __name__ == "__main__":
    main()
