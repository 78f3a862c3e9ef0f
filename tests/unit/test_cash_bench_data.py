"""The cash benchmark's data generator (bench/cash_data.py): deterministic, files our readers read, and a
truth that covers every entry with consistent amounts. Small sizes; no database."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bench import cash_data
from bench.cash import Outcome, classify, outcomes_of, reason_pattern
from stdnum import iso11649

from o2c.bankfiles import detect
from o2c.bankfiles.statement import Entry, balance_difference
from o2c.cash import rules
from o2c.documents.references import rf_reference_body

SIZES = {"customers": 300, "open_items": 6_000, "entries": 1_000}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> cash_data.CashFiles:
    return cash_data.generate(tmp_path_factory.mktemp("cash"), **SIZES, seed=7)


@pytest.fixture(scope="module")
def truth(data: cash_data.CashFiles) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(data.truth.read_text(encoding="utf-8"))["records"]
    return records


@pytest.fixture(scope="module")
def invoices(data: cash_data.CashFiles) -> dict[str, dict[str, str]]:
    with data.invoices.open(encoding="utf-8", newline="") as handle:
        return {row["invoice_number"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def customers(data: cash_data.CashFiles) -> dict[str, dict[str, str]]:
    with data.customers.open(encoding="utf-8", newline="") as handle:
        return {row["customer_number"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def known_ibans(data: cash_data.CashFiles) -> dict[str, str]:
    with data.bank_accounts.open(encoding="utf-8", newline="") as handle:
        return {row["iban"]: row["customer_number"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def entries(data: cash_data.CashFiles) -> dict[str, tuple[str, str, Entry]]:
    """Every entry of every bank file by its bank reference: (file, format, entry)."""
    found: dict[str, tuple[str, str, Entry]] = {}
    for path in data.bank_files:
        file_format, statements = detect.read_bank_file(path.read_bytes(), source=path.name)
        for statement in statements:
            for entry in statement.entries:
                assert entry.bank_reference is not None
                assert entry.bank_reference not in found, entry.bank_reference
                found[entry.bank_reference] = (path.name, file_format, entry)
    return found


def _by_kind(truth: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    records = [record for record in truth if record["kind"] == kind]
    assert records, f"no {kind} entry generated"
    return records


# --- determinism and sizes ---


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_data(tmp_path: Path) -> None:
    sizes = {"customers": 60, "open_items": 900, "entries": 200}
    first = cash_data.generate(tmp_path / "a", **sizes, seed=11)
    second = cash_data.generate(tmp_path / "b", **sizes, seed=11)
    other = cash_data.generate(tmp_path / "c", **sizes, seed=12)
    names = sorted(path.name for path in first.directory.iterdir())
    assert names == sorted(path.name for path in second.directory.iterdir())
    assert len(first.bank_files) == 15  # three formats on five value dates
    for name in names:
        assert (first.directory / name).read_bytes() == (second.directory / name).read_bytes(), name
    assert (other.directory / "invoices.csv").read_bytes() != (first.directory / "invoices.csv").read_bytes()
    assert (other.directory / "truth.json").read_bytes() != (first.directory / "truth.json").read_bytes()


def test_counts_follow_the_mix_and_the_format_shares(data: cash_data.CashFiles) -> None:
    assert data.entries == 1_000
    assert data.open_items == 6_000
    assert data.kinds == {
        "ambiguous": 20,
        "bank_fee": 30,
        "discount": 40,
        "exact": 450,
        "multi": 80,
        "name_only": 40,
        "no_reference_amount": 50,
        "noisy_reference": 150,
        "overpayment": 20,
        "parent": 20,
        "rf_reference": 30,
        "short_pay": 30,
        "third_party": 20,
        "unidentifiable": 20,
    }
    assert data.formats == {"camt": 500, "bai2": 300, "mt940": 200}
    assert [path.name for path in data.bank_files[:3]] == [
        "camt053_20261102.xml",
        "bai2_20261102.txt",
        "mt940_20261102.sta",
    ]


def test_cached_gives_the_data_set_back_only_for_the_same_parameters(data: cash_data.CashFiles) -> None:
    again = cash_data.cached(data.directory, **SIZES, seed=7)
    assert again is not None
    assert again.bank_files == data.bank_files
    assert again.kinds == data.kinds
    assert cash_data.cached(data.directory, **SIZES, seed=8) is None
    assert cash_data.cached(data.directory / "nowhere", **SIZES, seed=7) is None


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"customers": 5, "open_items": 100, "entries": 10}, "at least 10 customers"),
        ({"customers": 50, "open_items": 100, "entries": 60}, "one entry per two open items"),
    ],
)
def test_impossible_sizes_are_refused(tmp_path: Path, sizes: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cash_data.generate(tmp_path, **sizes)


def test_an_unknown_kind_in_the_mix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown kinds in the mix: lottery"):
        cash_data.generate(tmp_path, customers=20, open_items=200, entries=10, mix={"exact": 1, "lottery": 1})


# --- the files parse with our readers ---


def test_every_bank_file_parses_balances_and_is_of_its_format(data: cash_data.CashFiles) -> None:
    expected = {"camt053": "camt.053", "bai2": "bai2", "mt940": "mt940"}
    for path in data.bank_files:
        file_format, statements = detect.read_bank_file(path.read_bytes(), source=path.name)
        assert file_format == expected[path.name.split("_")[0]]
        assert len(statements) == 1
        statement = statements[0]
        assert balance_difference(statement) == Decimal(0)
        assert statement.currency == ("USD" if file_format == "bai2" else "EUR")
        assert statement.entries
        assert rules.incoming_entries(statement) == list(statement.entries)  # credits only, booked


def test_the_truth_covers_every_entry_exactly_once(
    truth: list[dict[str, Any]], entries: dict[str, tuple[str, str, Entry]]
) -> None:
    references = [record["entry_reference"] for record in truth]
    assert len(references) == len(set(references)) == 1_000
    assert set(references) == set(entries)
    for record in truth:
        file_name, _, entry = entries[record["entry_reference"]]
        assert record["file"] == file_name
        assert entry.amount == Decimal(record["amount"])
        assert entry.currency == record["currency"]
        assert entry.value_date == date.fromisoformat(record["value_date"])
        assert record["value_date"].replace("-", "") in file_name  # one file per format and value date


def test_payer_data_is_where_each_format_puts_it(
    truth: list[dict[str, Any]], entries: dict[str, tuple[str, str, Entry]], known_ibans: dict[str, str]
) -> None:
    for record in truth:
        _, file_format, entry = entries[record["entry_reference"]]
        assert entry.counterparty_name, record
        if file_format == "bai2":
            assert entry.counterparty_iban is None  # US ACH and wires carry no IBAN
            assert entry.counterparty_name == entry.counterparty_name.upper()
        else:
            assert entry.counterparty_iban, record
        if record["kind"] in ("no_reference_amount", "ambiguous"):
            assert known_ibans[entry.counterparty_iban or ""] == record["customer_number"]
        if record["kind"] in ("name_only", "unidentifiable", "third_party") and entry.counterparty_iban:
            assert entry.counterparty_iban not in known_ibans


# --- the truth is consistent ---


def test_lines_pay_open_invoices_of_the_entrys_currency_and_add_up(
    truth: list[dict[str, Any]], invoices: dict[str, dict[str, str]]
) -> None:
    for record in truth:
        lines = record["lines"]
        if record["needs_person"]:
            assert lines == [] and record["on_account"] == "0.00"  # a person decides where it goes
            continue
        total = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
        assert total + Decimal(record["on_account"]) == Decimal(record["amount"]), record
        for line in lines:
            invoice = invoices[line["invoice_number"]]
            assert invoice["currency"] == record["currency"]
            settled = sum(Decimal(line[key]) for key in ("amount", "discount", "write_off", "deduction"))
            assert settled == Decimal(invoice["open_amount"]), record
            assert Decimal(line["amount"]) > 0


def test_no_invoice_is_paid_twice(truth: list[dict[str, Any]]) -> None:
    numbers = Counter(
        number
        for record in truth
        for number in [line["invoice_number"] for line in record["lines"]] + record["candidates"]
    )
    assert numbers
    assert max(numbers.values()) == 1


def test_kinds_have_their_shape(
    truth: list[dict[str, Any]],
    invoices: dict[str, dict[str, str]],
    customers: dict[str, dict[str, str]],
) -> None:
    for record in truth:
        kind, lines = record["kind"], record["lines"]
        assert record["needs_person"] == (kind in ("unidentifiable", "ambiguous"))
        if kind in ("unidentifiable", "ambiguous"):
            assert lines == []
            continue
        owners = {invoices[line["invoice_number"]]["customer_number"] for line in lines}
        if kind == "parent":
            assert {customers[owner]["parent_number"] for owner in owners} == {record["customer_number"]}
        else:
            assert owners == {record["customer_number"]}
        if kind == "multi":
            assert 2 <= len(lines) <= 5
        elif kind != "parent":
            assert len(lines) == 1
        deductions = [Decimal(line["deduction"]) for line in lines]
        write_offs = [Decimal(line["write_off"]) for line in lines]
        discounts = [Decimal(line["discount"]) for line in lines]
        assert any(deductions) == (kind == "short_pay")
        assert any(write_offs) == (kind == "bank_fee")
        assert any(discounts) == (kind == "discount")
        assert (Decimal(record["on_account"]) > 0) == (kind == "overpayment")
        if kind == "short_pay":
            assert deductions[0] >= Decimal("10.00")
        if kind == "bank_fee":
            assert Decimal("0.50") <= write_offs[0] <= Decimal("4.99")


def test_discounts_are_two_percent_of_the_gross_within_terms(
    truth: list[dict[str, Any]], invoices: dict[str, dict[str, str]], customers: dict[str, dict[str, str]]
) -> None:
    for record in _by_kind(truth, "discount"):
        (line,) = record["lines"]
        invoice = invoices[line["invoice_number"]]
        assert customers[invoice["customer_number"]]["payment_terms"] == "2/10NET30"
        gross = Decimal(invoice["amount"])
        assert invoice["open_amount"] == invoice["amount"]
        assert Decimal(line["discount"]) == (gross * Decimal("0.02")).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )
        issued = date.fromisoformat(invoice["issue_date"])
        assert date(2026, 10, 25) <= issued <= date(2026, 10, 31)
        assert date.fromisoformat(record["value_date"]) <= issued + timedelta(days=10)


def test_amount_only_entries_fit_exactly_one_open_item_of_the_payers_group(
    truth: list[dict[str, Any]], invoices: dict[str, dict[str, str]], customers: dict[str, dict[str, str]]
) -> None:
    open_amounts: dict[str, Counter[str]] = {}
    for invoice in invoices.values():
        open_amounts.setdefault(invoice["customer_number"], Counter())[invoice["open_amount"]] += 1
    children: dict[str, list[str]] = {}
    for number, customer in customers.items():
        if customer["parent_number"]:
            children.setdefault(customer["parent_number"], []).append(number)

    def fitting(customer: str, amount: str) -> int:
        group = [customer, *children.get(customer, [])]
        return sum(open_amounts.get(member, Counter())[amount] for member in group)

    for kind in ("no_reference_amount", "name_only"):
        for record in _by_kind(truth, kind):
            assert fitting(record["customer_number"], record["amount"]) == 1, record
    for record in _by_kind(truth, "ambiguous"):
        assert len(record["candidates"]) == 2
        for number in record["candidates"]:
            assert invoices[number]["open_amount"] == record["amount"]
            assert invoices[number]["customer_number"] == record["customer_number"]
        assert fitting(record["customer_number"], record["amount"]) == 2
    every_open = {(invoice["currency"], invoice["open_amount"]) for invoice in invoices.values()}
    for record in _by_kind(truth, "unidentifiable"):
        assert record["customer_number"] is None
        assert (record["currency"], record["amount"]) not in every_open


def test_texts_carry_references_as_each_kind_says(
    truth: list[dict[str, Any]], entries: dict[str, tuple[str, str, Entry]]
) -> None:
    for record in truth:
        _, _, entry = entries[record["entry_reference"]]
        text = rules.remittance_text(entry)
        numbers = [line["invoice_number"] for line in record["lines"]]
        kind = record["kind"]
        if kind in ("exact", "multi", "parent", "third_party", "bank_fee", "overpayment", "short_pay"):
            assert all(number in text for number in numbers), (record, text)
        elif kind == "noisy_reference":
            assert text != numbers[0], text  # changed, or at least a payer's word before it
        elif kind == "rf_reference":
            written = [*entry.remittance_structured_refs, text]
            references = [part for part in written if part.startswith("RF")]
            assert len(references) == 1, written
            assert iso11649.is_valid(references[0])
            assert rf_reference_body(references[0]) == numbers[0].replace("-", "").replace("/", "")
        elif kind in ("no_reference_amount", "name_only", "unidentifiable", "ambiguous"):
            for invoice in [*numbers, *record["candidates"]]:
                assert invoice not in text


# --- how the runner scores (bench/cash.py) ---

RECORD = {
    "entry_reference": "CT1",
    "kind": "overpayment",
    "customer_number": "C000001",
    "lines": [
        {
            "invoice_number": "INV-2026-000001",
            "amount": "100.00",
            "discount": "0.00",
            "write_off": "0.00",
            "deduction": "0.00",
        }
    ],
    "on_account": "5.00",
    "needs_person": False,
}
CSV_HEADER = "entry_reference,invoice_number,amount,discount,deduction,write_off,status,confidence\n"


def test_the_runner_reads_applications_per_entry() -> None:
    outcomes = outcomes_of(
        CSV_HEADER
        + "CT1,INV-2026-000001,100.00,0.00,0.00,0.00,applied,0.990\n"
        + "CT1,,5.00,0.00,0.00,0.00,applied,0.990\n"
        + "CT2,INV-2026-000002,7.00,0.00,0.00,0.00,suggested,0.600\n"
    )
    assert outcomes["CT1"].applied == [
        ("INV-2026-000001", Decimal("100.00"), Decimal(0), Decimal(0), Decimal(0))
    ]
    assert outcomes["CT1"].on_account == Decimal("5.00")
    assert outcomes["CT2"].applied == []
    assert outcomes["CT2"].suggested == 1


def test_the_runner_classifies_outcomes() -> None:
    line = ("INV-2026-000001", Decimal("100.00"), Decimal(0), Decimal(0), Decimal(0))
    other = ("INV-2026-000009", Decimal("100.00"), Decimal(0), Decimal(0), Decimal(0))
    ok = {"C000001"}
    assert classify(RECORD, Outcome([line], Decimal("5.00")), "C000001", ok) == "correct"
    assert classify(RECORD, Outcome([other], Decimal("5.00")), "C000001", ok) == "wrong"
    assert classify(RECORD, Outcome([], Decimal("105.00")), "C000001", ok) == "on_account"
    assert classify(RECORD, Outcome([], Decimal("105.00")), "C000777", ok) == "wrong"
    assert classify(RECORD, Outcome([], Decimal(0), suggested=1), None, ok) == "person"
    assert classify(RECORD, None, None, ok) == "missing"
    ambiguous = {**RECORD, "kind": "ambiguous", "lines": [], "on_account": "0.00", "needs_person": True}
    assert classify(ambiguous, Outcome([line]), "C000001", ok) == "wrong"
    assert classify(ambiguous, Outcome([], Decimal(0), suggested=2), None, ok) == "person"


def test_reason_patterns_drop_names_numbers_and_amounts() -> None:
    assert (
        reason_pattern(
            [
                "payer name 'Müller GmbH' matches customer C000123 (91/100)",
                "reference INV-2026-004711 found",
                "partial payment: 12,50 EUR stays open",
            ]
        )
        == "payer name '…' matches customer # (score) | reference # found | partial payment: # stays open"
    )
