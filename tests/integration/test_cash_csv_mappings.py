"""A bank's own CSV export through a saved column mapping: saved (validated, audited), found by the
file's header or named, and imported end to end: payments of exact amounts on the mapping's bank
account, applied to the invoices they name, each entry once however often the file comes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from o2c.audit.models import AuditEvent
from o2c.bankfiles.csvformats import CsvMapping, csv_mapping_from_json
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.cash import csvmappings
from o2c.cash import services as cash_services
from o2c.cash.errors import UnableToImportBankFile
from o2c.cash.models import BankCsvMapping, BankFile, BankStatement, Payment
from o2c.core import checks
from o2c.core.exceptions import InputError
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import EntityBankAccount, JournalLine, LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation
from tests.camt_builder import Credit, statement_xml
from tests.conftest import customer_in, issued_invoice

pytestmark = pytest.mark.django_db

GERMAN_IBAN = "DE89370400440532013000"
GERMAN_MAPPING: dict[str, Any] = {
    "date": "Buchungstag",
    "credit": "Haben",
    "debit": "Soll",
    "currency": "Währung",
    "default_currency": "EUR",
    "reference": "Referenz",
    "payer_name": "Auftraggeber / Empfänger",
    "payer_account": "IBAN",
    "text": ["Verwendungszweck", "Buchungstext"],
    "date_format": "%d.%m.%Y",
    "decimal_separator": ",",
    "delimiter": ";",
    "encoding": "cp1252",
    "skip_rows": 4,
}
US_MAPPING: dict[str, Any] = {
    "date": "Posting Date",
    "amount": "Amount",
    "default_currency": "USD",
    "payer_name": "Description",
    "payer_account": "Account",
    "text": "Memo",
    "date_format": "%m/%d/%Y",
}


def german_csv(*rows: str, title: str = "Umsätze Girokonto") -> bytes:
    """A German bank's export: cp1252, semicolons, three title lines and a blank one before the header,
    Soll (money out) and Haben (money in) columns with decimal commas."""
    lines = [
        f"{title};;;;;;;;;",
        "Konto;DE89 3704 0044 0532 0130 00;;;;;;;;",
        "Zeitraum;01.03.2026 - 31.03.2026;;;;;;;;",
        "",
        "Buchungstag;Valuta;Auftraggeber / Empfänger;IBAN;Verwendungszweck;Buchungstext;Soll;Haben;Währung;"
        "Referenz",
        *rows,
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def us_csv(*rows: str) -> bytes:
    return (
        "\n".join(["Details,Posting Date,Description,Amount,Account,Memo,Balance", *rows]) + "\n"
    ).encode()


def _save(entity: LegalEntity, now: datetime, name: str = "Sparkasse", **overrides: Any) -> BankCsvMapping:
    values: dict[str, Any] = {
        "definition": GERMAN_MAPPING,
        "bank_account": "DE89 3704 0044 0532 0130 00",
        "currency": None,
    } | overrides
    return csvmappings.csv_mapping_save(entity=entity, name=name, actor=None, now=now, **values)


def _import(entity: LegalEntity, data: bytes, now: datetime, name: str = "umsaetze.csv", **kw: Any) -> Any:
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now, **kw)


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _unchanged() -> tuple[int, ...]:
    return (
        BankCsvMapping.objects.count(),
        EntityBankAccount.objects.count(),
        AuditEvent.objects.count(),
        BankFile.objects.count(),
        Payment.objects.count(),
        JournalLine.objects.count(),
    )


@pytest.fixture
def us_entity(db: None, now: datetime) -> LegalEntity:
    entity = ledger_services.entity_create(
        code="US01",
        name="O2C Inc.",
        country="US",
        currency="USD",
        time_zone="America/New_York",
        today=date(2026, 3, 16),
        now=now,
    )
    ledger_services.periods_open(
        entity=entity, first=date(2026, 1, 1), last=date(2026, 12, 31), now=now, reason="t"
    )
    return entity


@pytest.fixture
def us_customer(us_entity: LegalEntity, now: datetime) -> Customer:
    return customer_services.customer_create(
        entity=us_entity,
        data=customer_in("C-US-1", name="Acme Corp", country="US", currency="USD", language="en"),
        actor=None,
        now=now,
    )


class TestSaving:
    def test_a_mapping_is_saved_with_its_bank_account_registered_and_reads_back_as_the_same_mapping(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        record = _save(entity, now)

        assert csvmappings.csv_mapping_of(record) == CsvMapping(
            date="Buchungstag",
            credit="Haben",
            debit="Soll",
            currency="Währung",
            default_currency="EUR",
            reference="Referenz",
            payer_name="Auftraggeber / Empfänger",
            payer_account="IBAN",
            text=("Verwendungszweck", "Buchungstext"),
            date_format="%d.%m.%Y",
            decimal_separator=",",
            delimiter=";",
            encoding="cp1252",
            skip_rows=4,
        )
        account = record.bank_account
        assert (account.entity_id, account.iban, account.currency) == (entity.pk, GERMAN_IBAN, "EUR")
        assert (record.created_at, record.changed_at) == (now, now)
        events = AuditEvent.objects.filter(
            action__in=["ledger.bank_account.registered", "cash.csv_mapping.created"]
        )
        assert list(events.order_by("pk").values_list("action", "object_label", "reason")) == [
            ("ledger.bank_account.registered", GERMAN_IBAN, "bank CSV mapping Sparkasse"),
            ("cash.csv_mapping.created", "Sparkasse", ""),
        ]
        created = AuditEvent.objects.get(action="cash.csv_mapping.created")
        assert created.changes == {
            "bank_account": [None, GERMAN_IBAN],
            "date": [None, "Buchungstag"],
            "credit": [None, "Haben"],
            "debit": [None, "Soll"],
            "currency": [None, "Währung"],
            "default_currency": [None, "EUR"],
            "reference": [None, "Referenz"],
            "payer_name": [None, "Auftraggeber / Empfänger"],
            "payer_account": [None, "IBAN"],
            "text": [None, '["Verwendungszweck", "Buchungstext"]'],
            "date_format": [None, "%d.%m.%Y"],
            "decimal_separator": [None, ","],
            "delimiter": [None, ";"],
            "encoding": [None, "cp1252"],
            "skip_rows": [None, 4],
        }

    def test_saving_under_the_same_name_replaces_it_audits_what_changed_and_the_same_again_nothing(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        first = _save(entity, now)
        later = datetime(2026, 3, 17, 8, 0, tzinfo=now.tzinfo)

        changed = _save(entity, later, definition=GERMAN_MAPPING | {"skip_rows": 3})
        again = _save(
            entity,
            datetime(2026, 3, 18, 8, 0, tzinfo=now.tzinfo),
            definition=GERMAN_MAPPING | {"skip_rows": 3},
        )

        assert changed.pk == first.pk == again.pk
        assert BankCsvMapping.objects.count() == 1
        assert (again.created_at, again.changed_at) == (now, later)
        assert csvmappings.csv_mapping_of(again).skip_rows == 3
        event = AuditEvent.objects.get(action="cash.csv_mapping.changed")
        assert event.changes == {"skip_rows": [4, 3]}
        assert AuditEvent.objects.filter(action__startswith="cash.csv_mapping.").count() == 2

    @pytest.mark.parametrize(
        ("definition", "message"),
        [
            (
                GERMAN_MAPPING | {"skip_rows": "4"},
                "sparkasse.json: field 'skip_rows': \"4\" is not a whole number",
            ),
            (
                GERMAN_MAPPING | {"amount": "Betrag"},
                "sparkasse.json: a CSV mapping names either an amount column or credit/debit columns, "
                "not both",
            ),
            (
                GERMAN_MAPPING | {"encoding": "utf-16"},
                "sparkasse.json: encoding 'utf-16' is not one of utf-8, cp1252, latin-1, iso-8859-15",
            ),
            (
                GERMAN_MAPPING | {"seperator": ";"},
                "sparkasse.json: unknown field 'seperator'; a CSV mapping has date, amount, credit, debit, "
                "currency, default_currency, reference, payer_name, payer_account, text, date_format, "
                "decimal_separator, delimiter, encoding, skip_rows",
            ),
            (
                {key: value for key, value in GERMAN_MAPPING.items() if key != "date"},
                "sparkasse.json: field 'date' (the column with the booking date) is required",
            ),
            (
                GERMAN_MAPPING | {"date_format": "%d.%m."},
                "sparkasse.json: date format '%d.%m.' needs a year, a month and a day",
            ),
        ],
        ids=["skip_rows text", "amount and credit", "encoding", "unknown field", "no date", "no year"],
    )
    def test_a_bad_field_is_refused_in_one_line_naming_the_file_and_nothing_is_written(
        self, entity: LegalEntity, now: datetime, definition: dict[str, Any], message: str
    ) -> None:
        before = _unchanged()

        with pytest.raises(InputError) as refused:
            _save(entity, now, definition=definition, source="sparkasse.json")

        assert (refused.value.message, refused.value.code) == (message, "bad_csv_mapping")
        assert _unchanged() == before

    def test_an_account_in_another_currency_than_the_default_currency_is_refused(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        before = _unchanged()

        with pytest.raises(InputError, match=r"^bank account DE89370400440532013000 is in USD, not EUR$"):
            _save(entity, now, currency="USD")

        assert _unchanged() == before

    def test_a_mapping_is_deleted_by_name_audited_and_an_unknown_name_refused(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now)

        csvmappings.csv_mapping_delete(entity=entity, name="Sparkasse", actor=None, now=now)

        assert BankCsvMapping.objects.count() == 0
        event = AuditEvent.objects.get(action="cash.csv_mapping.deleted")
        assert (event.object_label, event.changes["bank_account"]) == ("Sparkasse", [GERMAN_IBAN, None])
        with pytest.raises(InputError) as refused:
            csvmappings.csv_mapping_delete(entity=entity, name="Sparkasse", actor=None, now=now)
        assert refused.value.message == "no CSV mapping 'Sparkasse' is saved for MAIN (saved: none)"
        assert refused.value.code == "unknown_csv_mapping"

    def test_the_stored_definition_round_trips(self, entity: LegalEntity, now: datetime) -> None:
        record = _save(entity, now)

        assert csv_mapping_from_json(record.definition) == csv_mapping_from_json(GERMAN_MAPPING)
        assert BankCsvMapping.objects.get().definition["text"] == ["Verwendungszweck", "Buchungstext"]


class TestImport:
    def test_a_german_bank_csv_is_found_by_its_header_applied_and_booked_on_the_mappings_account(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        first = issued_invoice(customer)  # 1,190.00
        second = issued_invoice(
            customer, lines=[LineIn("Maschine", Decimal(20), Decimal("100.00"), Decimal(19))]
        )  # 2,380.00
        record = _save(entity, now)
        data = german_csv(
            "20.03.2026;20.03.2026;Müller Maschinenbau GmbH;DE44 5001 0517 5407 3249 31;"
            f"Rechnung {first.number};Gutschrift;;1.190,00;EUR;2026032000001",
            f"20.03.2026;20.03.2026;Müller Maschinenbau GmbH;;Rg. {second.number};Gutschrift;;2.380,00;;"
            "2026032000002",
            '21.03.2026;21.03.2026;Stadtwerke Köln;;"Abschlag März; Strom";Lastschrift;-89,90;;EUR;',
            "23.03.2026;23.03.2026;Zoë Weiß;;Spende;Gutschrift;;50,00;EUR;",
        )

        result = _import(entity, data, now)

        assert (result.file_format, result.statements, result.entries) == ("csv", 1, 4)
        assert (result.payments, result.applied, result.unidentified, result.ignored, result.duplicates) == (
            3,
            2,
            1,
            1,
            0,
        )
        assert result.amount_minor == {"EUR": 362000}
        assert result.applied_minor == {"EUR": 357000}
        assert result.warnings == []
        payments = list(Payment.objects.order_by("position"))
        assert [
            (p.position, p.entry_reference, p.value_date, p.amount_minor, p.unapplied_minor, p.status)
            for p in payments
        ] == [
            (1, "2026032000001", date(2026, 3, 20), 119000, 0, "applied"),
            (2, "2026032000002", date(2026, 3, 20), 238000, 0, "applied"),
            (4, "", date(2026, 3, 23), 5000, 5000, "unidentified"),
        ]
        assert {p.bank_account_id for p in payments} == {record.bank_account_id}
        assert payments[0].payer_iban == "DE44500105175407324931"
        assert payments[0].payer_name == "Müller Maschinenbau GmbH"
        assert payments[0].remittance == f"Rechnung {first.number} Gutschrift"
        assert BankStatement.objects.get().bank_account_id == record.bank_account_id
        assert BankFile.objects.get().file_format == "csv"
        assert not EntityBankAccount.objects.filter(account_number__startswith="csv-").exists()
        assert sorted(Allocation.objects.values_list("document_id", "amount_minor", "payment_id")) == sorted(
            [(first.pk, 119000, payments[0].pk), (second.pk, 238000, payments[1].pk)]
        )
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.open_minor, first.settlement, second.open_minor, second.settlement) == (
            0,
            "paid",
            0,
            "paid",
        )
        # the receipts are debited to the mapping's account's ledger account
        bank_debits = JournalLine.objects.filter(
            account_id=record.bank_account.ledger_account_id, debit_minor__gt=0
        ).values_list("debit_minor", flat=True)
        assert sorted(bank_debits) == [5000, 119000, 238000]
        assert _verify() == []

    def test_a_us_bank_csv_named_by_its_mapping_is_applied_in_dollars(
        self, us_entity: LegalEntity, us_customer: Customer, now: datetime
    ) -> None:
        invoice = issued_invoice(us_customer, currency="USD")  # 1,190.00 USD
        record = _save(us_entity, now, name="Chase", definition=US_MAPPING, bank_account="123456789")
        data = us_csv(
            f'CREDIT,03/20/2026,ACME CORP,"1,190.00",021000021/555001,{invoice.number},"21,190.00"',
            "DEBIT,03/20/2026,WIRE FEE,-25.00,,,21165.00",
            'CREDIT,03/23/2026,GLOBEX LLC,"12,345.67",021000021/777002,order 55,"33,510.67"',
        )

        result = _import(us_entity, data, now, name="chase.csv", csv_mapping="Chase")

        assert (result.file_format, result.payments, result.applied, result.ignored) == ("csv", 2, 1, 1)
        assert result.amount_minor == {"USD": 1353567}
        assert result.applied_minor == {"USD": 119000}
        account = record.bank_account
        assert (account.account_number, account.currency, account.entity_id) == (
            "123456789",
            "USD",
            us_entity.pk,
        )
        payments = list(Payment.objects.order_by("position"))
        assert [
            (p.position, p.amount_minor, p.currency, p.payer_account, p.bank_account_id) for p in payments
        ] == [
            (1, 119000, "USD", "021000021/555001", account.pk),
            (3, 1234567, "USD", "021000021/777002", account.pk),
        ]
        assert (payments[0].status, payments[0].unapplied_minor) == ("applied", 0)
        allocation = Allocation.objects.get()
        assert (allocation.document_id, allocation.amount_minor, allocation.payment_id) == (
            invoice.pk,
            119000,
            payments[0].pk,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "paid")
        assert _verify() == []

    def test_the_same_file_twice_and_an_overlapping_export_import_each_entry_once(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = issued_invoice(customer)
        _save(entity, now)
        with_reference = (
            f"20.03.2026;20.03.2026;Müller Maschinenbau GmbH;;Rechnung {invoice.number};;;1.190,00;EUR;"
            "2026032000001"
        )
        without_reference = "23.03.2026;23.03.2026;Zoë Weiß;;Spende;Gutschrift;;50,00;EUR;"
        data = german_csv(with_reference, without_reference)
        _import(entity, data, now)

        again = _import(entity, data, now, name="umsaetze-kopie.csv")
        overlapping = _import(
            entity,
            german_csv(
                with_reference,
                without_reference,
                "24.03.2026;24.03.2026;Zoë Weiß;;Spende;Gutschrift;;50,00;EUR;",
                title="Umsätze Girokonto (neu)",
            ),
            now,
            name="umsaetze-april.csv",
        )

        assert (again.already_imported, again.payments, again.duplicates) == (True, 0, 2)
        assert (overlapping.already_imported, overlapping.payments, overlapping.duplicates) == (False, 1, 2)
        assert sorted(Payment.objects.values_list("value_date", "amount_minor")) == [
            (date(2026, 3, 20), 119000),
            (date(2026, 3, 23), 5000),
            (date(2026, 3, 24), 5000),
        ]
        assert Payment.objects.filter(dedupe_key__startswith="ref:").count() == 1
        assert Payment.objects.filter(dedupe_key__startswith="fp:").count() == 2
        assert Allocation.objects.count() == 1
        assert _verify() == []

    def test_a_file_two_saved_mappings_fit_is_refused_naming_both_and_imports_nothing(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now, name="Sparkasse")
        _save(entity, now, name="Sparkasse (ohne Text)", definition=GERMAN_MAPPING | {"text": None})
        before = _unchanged()

        with pytest.raises(UnableToReadBankFile) as refused:
            _import(entity, german_csv("23.03.2026;23.03.2026;Zoë Weiß;;Spende;;;50,00;EUR;"), now)

        assert refused.value.message == (
            "umsaetze.csv: its header fits several saved CSV mappings "
            "('Sparkasse', 'Sparkasse (ohne Text)'): choose one with --mapping NAME"
        )
        assert refused.value.code == "ambiguous_csv_mapping"
        assert _unchanged() == before

    def test_naming_one_of_two_fitting_mappings_reads_the_file_through_it(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now, name="Sparkasse")
        _save(entity, now, name="Sparkasse (ohne Text)", definition=GERMAN_MAPPING | {"text": None})

        _import(
            entity,
            german_csv("23.03.2026;23.03.2026;Zoë Weiß;;Spende;Gutschrift;;50,00;EUR;"),
            now,
            csv_mapping="Sparkasse (ohne Text)",
        )

        assert Payment.objects.get().remittance == ""

    def test_an_unknown_mapping_name_is_refused_and_imports_nothing(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now)
        before = _unchanged()

        with pytest.raises(InputError) as refused:
            _import(
                entity,
                german_csv("23.03.2026;23.03.2026;X;;Spende;;;50,00;EUR;"),
                now,
                csv_mapping="Postbank",
            )

        assert refused.value.message == "no CSV mapping 'Postbank' is saved for MAIN (saved: 'Sparkasse')"
        assert refused.value.code == "unknown_csv_mapping"
        assert _unchanged() == before

    def test_a_csv_no_saved_mapping_fits_is_refused_with_the_hint(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        data = us_csv("CREDIT,03/20/2026,ACME CORP,10.00,,,10.00")

        with pytest.raises(UnableToReadBankFile) as without_mappings:
            _import(entity, data, now, name="chase.csv")
        _save(entity, now)
        with pytest.raises(UnableToReadBankFile) as with_one:
            _import(entity, data, now, name="chase.csv")

        not_a_bank_file = (
            "chase.csv: not a bank file O2C reads (camt.053/054, BAI2, MT940, lockbox CSV, card payout CSV); "
        )
        assert without_mappings.value.message == not_a_bank_file + (
            "a bank's own CSV export needs a saved column mapping (o2c cash csv-mapping), and MAIN has none"
        )
        assert with_one.value.message == not_a_bank_file + (
            "a bank's own CSV export needs a saved column mapping, and none of the 1 of MAIN has all its "
            "columns in this file's header"
        )
        assert with_one.value.code == "unsupported_bank_file"
        assert Payment.objects.count() == 0

    def test_a_column_the_named_mapping_lacks_refuses_the_file_naming_it(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now)
        data = "\r\n".join(
            [
                "Postbank;;",
                "Konto;DE02 1001 0010 0123 4567 89;",
                "Zeitraum;März 2026;",
                "",
                "Datum;Betrag;Währung",
                "20.03.2026;10,00;EUR",
                "",
            ]
        ).encode("cp1252")

        with pytest.raises(UnableToReadBankFile) as refused:
            _import(entity, data, now, "postbank.csv", csv_mapping="Sparkasse")

        assert refused.value.message == (
            "postbank.csv: header: columns 'Buchungstag' (date), 'Haben' (credit), 'Soll' (debit), "
            "'Referenz' (reference), 'Auftraggeber / Empfänger' (payer_name), 'IBAN' (payer_account), "
            "'Verwendungszweck' (text), 'Buchungstext' (text) of the mapping are not in the header; it has 3 "
            "columns: 'Datum', 'Betrag', 'Währung'"
        )
        assert Payment.objects.count() == 0

    def test_an_entry_in_another_currency_than_the_mappings_account_is_refused(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now)
        before = _unchanged()

        with pytest.raises(UnableToImportBankFile) as refused:
            _import(
                entity,
                german_csv(
                    "20.03.2026;20.03.2026;A;;x;;;10,00;EUR;R1",
                    "20.03.2026;20.03.2026;B;;y;;;20,00;CHF;R2",
                ),
                now,
            )

        assert refused.value.message == (
            "umsaetze.csv: entry 2: currency CHF is not the currency of DE89370400440532013000 (EUR), "
            "the bank account of the CSV mapping 'Sparkasse'"
        )
        assert _unchanged() == before

    def test_a_mapping_named_for_a_camt_file_is_refused_and_without_one_it_imports_as_before(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _save(entity, now)
        data = statement_xml([Credit("10.00", "R1")])

        with pytest.raises(UnableToReadBankFile) as refused:
            _import(entity, data, now, "statement.xml", csv_mapping="Sparkasse")
        result = _import(entity, data, now, "statement.xml")

        assert refused.value.message == (
            "statement.xml: this is a camt file, not a CSV export: it is read without a CSV mapping"
        )
        assert (result.file_format, result.payments) == ("camt.053", 1)

    def test_another_entitys_mapping_is_not_found(
        self, entity: LegalEntity, other_entity: LegalEntity, now: datetime
    ) -> None:
        _save(other_entity, now, bank_account="FR7630006000011234567890189")

        with pytest.raises(UnableToReadBankFile, match="and MAIN has none"):
            _import(entity, german_csv("23.03.2026;23.03.2026;X;;Spende;;;50,00;EUR;"), now)
