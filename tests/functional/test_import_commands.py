"""`o2c import` and `o2c report trial-balance` as a user runs them: files in, one-line errors out."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.customers.models import Customer
from o2c.ledger.models import FiscalPeriod, FxRate, JournalEntry
from o2c.receivables.models import Allocation, Document

pytestmark = pytest.mark.django_db

CUSTOMERS_HEADER = (
    "customer_number,name,country,currency,language,payment_terms,email,vat_id,parent_number,credit_limit\n"
)
INVOICES_HEADER = "invoice_number,customer_number,issue_date,due_date,currency,amount,open_amount,po_number\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run_failing(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


@pytest.fixture
def customers_csv(tmp_path):
    return write(
        tmp_path,
        "customers.csv",
        "\ufeff"
        + CUSTOMERS_HEADER
        + "C-2,Müller Söhne GmbH,DE,EUR,de,2/10NET30,ap@mueller.example,DE136695976,C-1,50000.00\n"
        + "C-1,Müller Holding AG,de,eur,DE,NET30,,,,\n"
        + "C-3,Acme Inc.,US,USD,en,,,,,\n",
    )


class TestImportCustomers:
    def test_imports_customers_with_parents_after_children_and_audits_them(self, customers_csv, capsys):
        call_command("import", "customers", str(customers_csv))
        child = Customer.objects.get(number="C-2")
        assert (child.parent.number, child.country, child.currency, child.vat_id) == (
            "C-1",
            "DE",
            "EUR",
            "DE136695976",
        )
        assert child.payment_terms == "2/10NET30"
        assert child.credit_limit_minor == 5000000
        assert Customer.objects.get(number="C-3").payment_terms == "NET30"
        created = AuditEvent.objects.get(action="customers.customer.created", object_id=child.pk)
        assert created.changes["credit_limit"] == [None, "50000.00 EUR"]
        assert "credit limit migrated" in created.reason
        assert "3 customers created, 0 updated, 0 unchanged" in capsys.readouterr().err

    def test_the_same_file_twice_changes_nothing(self, customers_csv, capsys):
        call_command("import", "customers", str(customers_csv))
        events = AuditEvent.objects.count()
        call_command("import", "customers", str(customers_csv))
        assert AuditEvent.objects.count() == events
        assert "0 customers created, 0 updated, 3 unchanged" in capsys.readouterr().err

    def test_a_changed_row_updates_master_data_with_old_and_new_value_in_the_audit(
        self, customers_csv, tmp_path
    ):
        call_command("import", "customers", str(customers_csv))
        changed = write(
            tmp_path, "changed.csv", CUSTOMERS_HEADER + "C-3,Acme Corporation,US,USD,en,NET60,,,,\n"
        )
        call_command("import", "customers", str(changed))
        customer = Customer.objects.get(number="C-3")
        assert (customer.name, customer.payment_terms) == ("Acme Corporation", "NET60")
        event = AuditEvent.objects.get(action="customers.customer.changed", object_id=customer.pk)
        assert event.changes == {
            "name": ["Acme Inc.", "Acme Corporation"],
            "payment_terms": ["NET30", "NET60"],
        }

    def test_columns_beyond_the_contract_are_read_and_kept_when_a_later_file_lacks_them(self, tmp_path):
        extended = write(
            tmp_path,
            "extended.csv",
            CUSTOMERS_HEADER.rstrip("\n")
            + ",customer_type,crm_id,region\n"
            + "C-3,Acme Inc.,US,USD,en,,,,,,Key Account,CRM-88,ca\n",
        )
        call_command("import", "customers", str(extended))
        plain = write(tmp_path, "plain.csv", CUSTOMERS_HEADER + "C-3,Acme Corporation,US,USD,en,,,,,\n")
        call_command("import", "customers", str(plain))

        customer = Customer.objects.get(number="C-3")
        assert (customer.name, customer.customer_type, customer.crm_id, customer.region) == (
            "Acme Corporation",
            "key_account",
            "CRM-88",
            "CA",
        )

    def test_a_customer_type_with_other_signs_imports_nothing(self, tmp_path, capsys):
        path = write(
            tmp_path,
            "typed.csv",
            CUSTOMERS_HEADER.rstrip("\n") + ",customer_type\n" + "C-1,Acme,DE,EUR,en,,,,,,key.account\n",
        )
        line = run_failing(capsys, "import", "customers", str(path))
        assert line == (
            f"error: {path}: row 1: customer_type: 'key.account' is not a customer type "
            "(letters, digits and underscores, at most 30)"
        )
        assert Customer.objects.count() == 0

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("C-1,Acme,XX,EUR,en,,,,,\n", "row 1: country: 'XX' is not an ISO 3166 country code"),
            ("C-1,Acme,DE,EURO,en,,,,,\n", "row 1: currency: 'EURO' is not an ISO 4217 currency"),
            (
                "C-1,Acme,DE,EUR,en,NET30,,DE136695977,,\n",
                "row 1: vat_id: 'DE136695977' is not a valid VAT id",
            ),
            ("C-1,Acme,DE,EUR,en,NET3X,,,,\n", "row 1: payment_terms: 'NET3X' is not a payment terms code"),
            (
                "C-1,Acme,DE,EUR,en,,,,,12.345\n",
                "row 1: credit_limit: '12.345' has more decimals than EUR allows",
            ),
            ("C-1,Acme,DE,EUR,en,,,,,ten\n", "row 1: credit_limit: 'ten' is not a decimal number"),
            (
                "C-1,Acme,DE,EUR,en,,,,,\nC-1,Acme,DE,EUR,en,,,,,\n",
                "row 2: customer_number: customer C-1 appears twice",
            ),
            ("C-1,,DE,EUR,en,,,,,\n", "row 1: name: is empty"),
            (
                "C-1,Acme,DE,EUR,en,,,,C-9,\n",
                "row 1: parent_number: parent customer C-9 of C-1 does not exist",
            ),
        ],
    )
    def test_a_bad_row_imports_nothing_and_names_file_row_and_column(self, tmp_path, capsys, body, message):
        path = write(tmp_path, "bad.csv", CUSTOMERS_HEADER + "C-0,Good GmbH,DE,EUR,de,,,,,\n" + body)
        line = run_failing(capsys, "import", "customers", str(path))
        expected_row = int(message.split(":")[0].split()[1]) + 1
        assert line.startswith(f"error: {path}: row {expected_row}:")
        assert message.split(": ", 1)[1] in line
        assert Customer.objects.count() == 0
        assert AuditEvent.objects.filter(object_type="customer").count() == 0

    def test_an_empty_file_is_refused(self, tmp_path, capsys):
        line = run_failing(capsys, "import", "customers", str(write(tmp_path, "empty.csv", "")))
        assert line.endswith("the file is empty; a header row is required")

    def test_a_file_that_is_not_utf8_is_refused(self, tmp_path, capsys):
        path = write(tmp_path, "latin1.csv", CUSTOMERS_HEADER + "C-1,Müller GmbH,DE,EUR,de,,,,,\n", "latin-1")
        line = run_failing(capsys, "import", "customers", str(path))
        assert "line 2: the file is not UTF-8 (byte 0xfc)" in line
        assert Customer.objects.count() == 0

    def test_a_missing_column_is_named(self, tmp_path, capsys):
        path = write(tmp_path, "cols.csv", "customer_number,name,country\nC-1,Acme,DE\n")
        assert run_failing(capsys, "import", "customers", str(path)).endswith(
            "the header lacks the column currency"
        )

    def test_a_missing_file_is_a_clear_error(self, tmp_path, capsys):
        line = run_failing(capsys, "import", "customers", str(tmp_path / "nope.csv"))
        assert "cannot read the file (No such file or directory)" in line

    def test_a_50_mb_file_with_one_bad_row_at_the_end_imports_nothing(self, tmp_path, capsys):
        # an extra `notes` column (ignored, as the contract says) makes the rows long like real exports
        header = CUSTOMERS_HEADER.strip() + ",notes\n"
        notes = "Lieferung frei Haus; Ansprechpartnerin Frau Weiß. " * 24
        path = tmp_path / "big.csv"
        with path.open("w", encoding="utf-8") as handle:
            handle.write(header)
            n = 0
            while handle.tell() < 50 * 1024 * 1024:
                n += 1
                handle.write(
                    f"C-{n},Großhandel {n} GmbH & Co. KG,DE,EUR,de,NET30,ap{n}@example.com,,,,{notes}\n"
                )
            handle.write(f"BAD,Broken,DE,EUR,de,NET30,,,,-5,{notes}\n")
        line = run_failing(capsys, "import", "customers", str(path))
        assert f"row {n + 1}: credit_limit: credit_limit is negative" in line
        assert Customer.objects.count() == 0


class TestImportInvoices:
    @pytest.fixture(autouse=True)
    def _customers(self, customers_csv):
        call_command("import", "customers", str(customers_csv))

    def invoices(self, tmp_path, body, name="invoices.csv", header=INVOICES_HEADER):
        return write(tmp_path, name, header + body)

    def test_open_items_post_against_migration_clearing_and_tie_to_the_ledger(self, tmp_path, capsys):
        path = self.invoices(
            tmp_path,
            "OLD-1,C-2,2025-11-03,2025-12-03,EUR,1190.00,1190.00,PO-7\n"
            "OLD-2,C-2,2025-12-01,2025-12-31,EUR,595.00,95.00,\n"
            "OLD-3,C-1,2025-12-05,2026-01-04,EUR,-119.00,-119.00,\n",
        )
        call_command("import", "invoices", str(path))
        old2 = Document.objects.get(number="OLD-2")
        assert (old2.total_minor, old2.open_minor, old2.settlement, old2.is_migrated) == (
            59500,
            9500,
            "partially_paid",
            True,
        )
        assert Document.objects.get(number="OLD-3").document_type == "credit_memo"
        assert Allocation.objects.get(document=old2).amount_minor == 50000
        call_command("report", "trial-balance", "--as-of", "2025-12-31", "--format", "json")
        report = json.loads(capsys.readouterr().out)
        assert report["as_of"] == "2025-12-31"
        balances = {
            (row["type"], row["currency"]): (row["debit"], row["credit"]) for row in report["accounts"]
        }
        assert balances == {
            ("receivable", "EUR"): ("1166.00", "0.00"),
            ("clearing", "EUR"): ("0.00", "1166.00"),
        }
        call_command("ledger", "verify")

    def test_paid_history_is_settled_on_its_paid_date(self, tmp_path, capsys):
        path = self.invoices(
            tmp_path,
            "OLD-9,C-2,2025-10-01,2025-10-31,EUR,100.00,0,,2025-11-15\n",
            header=INVOICES_HEADER.strip() + ",paid_date\n",
        )
        call_command("import", "invoices", str(path))
        paid = Document.objects.get(number="OLD-9")
        assert (paid.open_minor, paid.settlement) == (0, "paid")
        assert Allocation.objects.get(document=paid).posting_date.isoformat() == "2025-11-15"
        call_command("report", "trial-balance", "--as-of", "2025-11-14", "--format", "json")
        on_the_14th = json.loads(capsys.readouterr().out)["accounts"]
        assert [(r["type"], r["debit"]) for r in on_the_14th if r["type"] == "receivable"] == [
            ("receivable", "100.00")
        ]
        call_command("report", "trial-balance", "--as-of", "2025-11-15", "--format", "json")
        assert json.loads(capsys.readouterr().out)["accounts"] == []

    def test_the_same_file_twice_changes_nothing(self, tmp_path, capsys):
        path = self.invoices(tmp_path, "OLD-1,C-2,2025-11-03,2025-12-03,EUR,1190.00,1000.00,\n")
        call_command("import", "invoices", str(path))
        entries = JournalEntry.objects.count()
        call_command("import", "invoices", str(path))
        assert JournalEntry.objects.count() == entries
        assert Document.objects.count() == 1
        assert "0 open items created, 1 unchanged" in capsys.readouterr().err

    def test_a_changed_amount_on_an_existing_invoice_is_refused(self, tmp_path, capsys):
        call_command(
            "import",
            "invoices",
            str(self.invoices(tmp_path, "OLD-1,C-2,2025-11-03,2025-12-03,EUR,1190.00,1190.00,\n")),
        )
        changed = self.invoices(
            tmp_path, "OLD-1,C-2,2025-11-03,2025-12-03,EUR,1200.00,1200.00,\n", name="changed.csv"
        )
        capsys.readouterr()
        line = run_failing(capsys, "import", "invoices", str(changed))
        assert line == (
            f"error: {changed}: row 1: amount: invoice OLD-1 exists with another amount;"
            " an issued amount never changes"
        )
        assert Document.objects.get(number="OLD-1").total_minor == 119000

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            (
                "OLD-1,C-404,2025-11-03,2025-12-03,EUR,10.00,10.00,",
                "row 2: customer_number: unknown customer C-404",
            ),
            (
                "OLD-1,C-2,03.11.2025,2025-12-03,EUR,10.00,10.00,",
                "row 2: issue_date: '03.11.2025' is not an ISO 8601 date",
            ),
            (
                "OLD-1,C-2,2025-11-03,2025-12-03,EUX,10.00,10.00,",
                "row 2: currency: 'EUX' is not an ISO 4217 currency",
            ),
            ("OLD-1,C-2,2025-11-03,2025-12-03,EUR,ten,10.00,", "row 2: amount: 'ten' is not an amount"),
            (
                "OLD-1,C-2,2025-11-03,2025-12-03,EUR,10.00,12.00,",
                "row 2: open_amount: 12.00 is not between 0 and the amount",
            ),
            (
                "OLD-1,C-2,2025-11-03,2025-10-03,EUR,10.00,10.00,",
                "row 2: due_date: 2025-10-03 is before the issue date",
            ),
            (
                "OLD-0,C-2,2025-11-03,2025-12-03,EUR,10.00,10.00,",
                "row 2: invoice_number: invoice OLD-0 appears twice",
            ),
            (
                "OLD-1,C-2,2025-11-03,2025-12-03,JPY,10.5,10.5,",
                "row 2: amount: '10.5' has more decimals than JPY allows",
            ),
        ],
    )
    def test_a_bad_row_imports_nothing(self, tmp_path, capsys, row, message):
        path = self.invoices(tmp_path, "OLD-0,C-2,2025-11-03,2025-12-03,EUR,10.00,10.00,\n" + row + "\n")
        line = run_failing(capsys, "import", "invoices", str(path))
        assert line.startswith(f"error: {path}: ")
        assert message in line
        assert Document.objects.count() == 0
        assert JournalEntry.objects.count() == 0

    def test_a_migration_opens_the_historical_periods_it_needs(self, tmp_path):
        call_command(
            "import",
            "invoices",
            str(self.invoices(tmp_path, "ANCIENT-1,C-2,2019-06-15,2019-07-15,EUR,10.00,10.00,\n")),
        )
        assert FiscalPeriod.objects.filter(start_date="2019-06-01", status="open").exists()
        assert AuditEvent.objects.filter(action="ledger.periods.opened").exists()

    def test_imported_numbers_in_the_native_shape_move_the_series_past_them(self, tmp_path, customer):
        from tests.conftest import issued_invoice

        call_command(
            "import",
            "invoices",
            str(self.invoices(tmp_path, "INV-2026-000041,C-2,2026-01-15,2026-02-14,EUR,10.00,10.00,\n")),
        )
        assert issued_invoice(customer).number == "INV-2026-000042"

    def test_a_foreign_currency_item_without_an_fx_rate_is_refused_naming_pair_and_date(
        self, tmp_path, capsys
    ):
        path = self.invoices(tmp_path, "US-1,C-3,2025-11-03,2025-12-03,USD,100.00,100.00,\n")
        line = run_failing(capsys, "import", "invoices", str(path))
        assert line.endswith("no FX rate USD/EUR on or before 2025-11-03")
        assert Document.objects.count() == 0


class TestImportFxRates:
    def test_rates_are_loaded_once_and_used_for_functional_amounts(self, tmp_path, capsys, customers_csv):
        rates = write(
            tmp_path, "fx.csv", "date,from_currency,to_currency,rate\n2025-01-01,USD,EUR,0.925926\n"
        )
        call_command("import", "fx-rates", str(rates))
        call_command("import", "fx-rates", str(rates))
        assert FxRate.objects.get().rate == Decimal("0.925926")
        assert "0 FX rates created, 0 updated" in capsys.readouterr().err
        call_command("import", "customers", str(customers_csv))
        call_command(
            "import",
            "invoices",
            str(
                write(
                    tmp_path,
                    "usd.csv",
                    INVOICES_HEADER + "US-1,C-3,2025-11-03,2025-12-03,USD,100.00,100.00,\n",
                )
            ),
        )
        capsys.readouterr()
        call_command("report", "trial-balance", "--as-of", "2025-12-31", "--format", "csv", "--functional")
        out = capsys.readouterr().out.splitlines()
        assert out[0] == (
            "entity,account,name,type,currency,debit,credit,"
            "functional_currency,functional_debit,functional_credit"
        )
        assert out[1] == "MAIN,1200,Trade receivables,receivable,USD,100.00,0.00,EUR,92.59,0.00"
        assert out[2] == "MAIN,1590,Migration clearing,clearing,USD,0.00,100.00,EUR,0.00,92.59"

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("2025-01-01,USD,EUR,-1", "row 1: rate: -1 is not a positive rate"),
            ("2025-01-01,USD,USD,1", "row 1: to_currency: is the same as from_currency"),
            ("2025-13-01,USD,EUR,1", "row 1: date: '2025-13-01' is not an ISO 8601 date"),
            ("2025-01-01,USD,EUR,abc", "row 1: rate: 'abc' is not a decimal number"),
        ],
    )
    def test_bad_rates_import_nothing(self, tmp_path, capsys, row, message):
        path = write(tmp_path, "fx.csv", f"date,from_currency,to_currency,rate\n{row}\n")
        assert message in run_failing(capsys, "import", "fx-rates", str(path))
        assert FxRate.objects.count() == 0


class TestTrialBalanceReport:
    def test_a_bad_date_is_an_input_error(self, capsys):
        assert run_failing(capsys, "report", "trial-balance", "--as-of", "yesterday").endswith(
            "--as-of: 'yesterday' is not an ISO 8601 date (YYYY-MM-DD)"
        )

    def test_the_table_follows_the_locale(self, tmp_path, capsys, monkeypatch, customers_csv):
        call_command("import", "customers", str(customers_csv))
        call_command(
            "import",
            "invoices",
            str(
                write(
                    tmp_path,
                    "i.csv",
                    INVOICES_HEADER + "OLD-1,C-2,2025-11-03,2025-12-03,EUR,1234.50,1234.50,\n",
                )
            ),
        )
        monkeypatch.setenv("O2C_LOCALE", "de_DE")
        capsys.readouterr()
        call_command("report", "trial-balance", "--as-of", "2025-12-31")
        assert "1.234,50" in capsys.readouterr().out


class TestTrialBalanceEntities:
    def test_the_report_is_for_the_default_entity_unless_another_is_named(
        self, tmp_path, capsys, other_entity
    ):
        customers = write(tmp_path, "c.csv", CUSTOMERS_HEADER + "F-1,Dupont SARL,FR,EUR,fr,,,,,\n")
        call_command("import", "customers", str(customers), "--entity", "FR01")
        invoices = write(
            tmp_path, "i.csv", INVOICES_HEADER + "FA-1,F-1,2025-11-03,2025-12-03,EUR,50.00,50.00,\n"
        )
        call_command("import", "invoices", str(invoices), "--entity", "FR01")
        capsys.readouterr()
        call_command("report", "trial-balance", "--as-of", "2025-12-31", "--format", "json")
        assert json.loads(capsys.readouterr().out)["accounts"] == []
        call_command(
            "report", "trial-balance", "--as-of", "2025-12-31", "--format", "json", "--entity", "FR01"
        )
        rows = json.loads(capsys.readouterr().out)["accounts"]
        assert [(r["entity"], r["type"], r["debit"], r["credit"]) for r in rows] == [
            ("FR01", "receivable", "50.00", "0.00"),
            ("FR01", "clearing", "0.00", "50.00"),
        ]

    def test_an_unknown_entity_is_an_input_error(self, capsys):
        line = run_failing(capsys, "report", "trial-balance", "--as-of", "2025-12-31", "--entity", "NOPE")
        assert line == "error: --entity: unknown legal entity 'NOPE'"
