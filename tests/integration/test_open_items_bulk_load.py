"""The open-item import as a bulk load (what a migration of a million items takes): the same rows, the
same rules, and the tables' indexes, foreign keys and ledger guards as they were."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from o2c.core import checks
from o2c.core.exceptions import DomainError
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger import triggers
from o2c.ledger.models import JournalEntry, JournalLine, LegalEntity
from o2c.receivables import migration
from o2c.receivables.migration import OpenItemIn
from o2c.receivables.models import Allocation, Document
from tests.conftest import NOW, customer_in

pytestmark = pytest.mark.django_db

TABLES = (Document._meta.db_table, Allocation._meta.db_table, JournalLine._meta.db_table)


def schema() -> dict[str, dict[str, Any]]:
    """Every index and constraint of the bulk-loaded tables, as the database describes them."""
    with connection.cursor() as cursor:
        return {table: connection.introspection.get_constraints(cursor, table) for table in TABLES}


def items(customer: Customer, count: int, *, prefix: str = "B", currency: str = "EUR") -> list[OpenItemIn]:
    start = date(2025, 1, 6)
    rows = []
    for index in range(1, count + 1):
        issue = start + timedelta(days=index % 40)
        amount = 1000 + index * 7
        kind = index % 5
        open_minor = 0 if kind < 3 else (amount // 3 if kind == 3 else amount)
        if index % 11 == 0:  # a credit memo
            amount, open_minor = -amount, -open_minor
        rows.append(
            OpenItemIn(
                row=index,
                number=f"{prefix}-{index}",
                customer_number=customer.number,
                issue_date=issue,
                due_date=issue + timedelta(days=30),
                currency=currency,
                amount_minor=amount,
                open_minor=open_minor,
                po_number=f"PO {index}",
                paid_date=issue + timedelta(days=index % 20) if open_minor != amount else None,
            )
        )
    return rows


def rows_written() -> tuple[list[tuple[Any, ...]], ...]:
    """The documents, allocations and journal lines, with numbers in place of the generated ids."""
    numbers = dict(Document.objects.values_list("pk", "number"))
    documents = sorted(
        Document.objects.values_list(
            "number",
            "customer_id",
            "document_type",
            "total_minor",
            "open_minor",
            "settlement",
            "issue_date",
            "due_date",
            "po_number",
            "series__year",
            "series__is_migration",
            "status",
            "is_migrated",
        )
    )
    allocations = sorted(
        Allocation.objects.values_list("document__number", "kind", "amount_minor", "posting_date", "currency")
    )
    lines = sorted(
        (
            posting_date,
            description,
            status,
            account,
            currency,
            debit,
            credit,
            f_debit,
            f_credit,
            rate,
            customer_id,
            numbers.get(document_id) if document_id else None,
            memo,
        )
        for (
            posting_date,
            description,
            status,
            account,
            currency,
            debit,
            credit,
            f_debit,
            f_credit,
            rate,
            customer_id,
            document_id,
            memo,
        ) in JournalLine.objects.values_list(
            "entry__posting_date",
            "entry__description",
            "entry__status",
            "account_id",
            "currency",
            "debit_minor",
            "credit_minor",
            "functional_debit_minor",
            "functional_credit_minor",
            "fx_rate",
            "customer_id",
            "document_id",
            "memo",
        )
    )
    return documents, allocations, lines


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every import of these tests, however small, goes the bulk way."""
    monkeypatch.setattr(migration, "BULK_LOAD", 1)
    monkeypatch.setattr(ledger_services, "_BULK_LINES", 1)


@pytest.fixture
def customers(entity: LegalEntity) -> list[Customer]:
    from o2c.customers import services as customer_services

    return [
        customer_services.customer_create(entity=entity, data=customer_in(f"C-{n}"), actor=None, now=NOW)
        for n in range(1, 4)
    ]


def import_items(entity: LegalEntity, rows: list[OpenItemIn]) -> migration.OpenItemsResult:
    return migration.open_items_import(entity=entity, items=rows, actor=None, now=NOW, source="bulk.csv")


class TestBulkLoadedImport:
    def test_writes_the_same_rows_as_the_row_by_row_path_and_verifies_clean(
        self, entity, customers, monkeypatch
    ):
        rows = [item for n, customer in enumerate(customers) for item in items(customer, 60, prefix=f"N{n}")]
        with transaction.atomic():
            import_items(entity, rows)
            expected = rows_written()
            transaction.set_rollback(True)
        monkeypatch.setattr(migration, "BULK_LOAD", 1)
        monkeypatch.setattr(ledger_services, "_BULK_LINES", 1)
        before = schema()
        result = import_items(entity, rows)
        assert (result.created, result.unchanged) == (180, 0)
        assert rows_written() == expected
        assert schema() == before
        assert all(check.run() == [] for check in checks.all_checks())
        again = import_items(entity, rows)
        assert (again.created, again.unchanged, again.journal_entries) == (0, 180, 0)

    def test_text_with_tabs_backslashes_and_line_breaks_arrives_as_written(self, entity, customers, bulk):
        rows = items(customers[0], 3)
        rows[0] = rows[0]._replace(number="B\\1\tx", po_number="PO\n7\r\\N")
        import_items(entity, rows)
        assert Document.objects.get(number="B\\1\tx").po_number == "PO\n7\r\\N"

    def test_foreign_currency_items_convert_each_line_and_balance(self, entity, bulk):
        from o2c.customers import services as customer_services

        usd = customer_services.customer_create(
            entity=entity, data=customer_in("U-1", currency="USD", country="US"), actor=None, now=NOW
        )
        ledger_services.fx_rates_import(
            rates=[ledger_services.FxRateIn(date(2024, 12, 31), "USD", "EUR", Decimal("0.9234567"))],
            source="t",
            now=NOW,
        )
        import_items(entity, items(usd, 30, currency="USD"))
        assert all(check.run() == [] for check in checks.all_checks())
        assert JournalLine.objects.filter(currency="USD", fx_rate=Decimal("0.9234567")).exists()

    def test_a_refused_import_leaves_the_tables_and_their_indexes_as_they_were(self, entity, bulk):
        from o2c.customers import services as customer_services

        usd = customer_services.customer_create(
            entity=entity, data=customer_in("U-2", currency="USD", country="US"), actor=None, now=NOW
        )
        before = schema()
        with pytest.raises(DomainError, match="no FX rate USD/EUR"):
            import_items(entity, items(usd, 5, currency="USD"))
        assert schema() == before
        assert (Document.objects.count(), Allocation.objects.count(), JournalEntry.objects.count()) == (
            0,
            0,
            0,
        )

    def test_the_ledger_guards_still_refuse_changes_to_the_posted_lines(self, entity, customers, bulk):
        import_items(entity, items(customers[0], 10))
        line = JournalLine.objects.first()
        assert line is not None
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            JournalLine.objects.filter(pk=line.pk).update(debit_minor=line.debit_minor + 1)

    def test_lines_for_a_posted_entry_are_refused_when_the_load_finishes(self, entity, customers, bulk):
        import_items(entity, items(customers[0], 3))
        posted = JournalEntry.objects.filter(status=JournalEntry.Status.POSTED).first()
        line = JournalLine.objects.filter(entry=posted).first()
        assert posted is not None and line is not None
        before = schema()

        @transaction.atomic
        def add_a_line_to_a_posted_entry() -> None:
            with triggers.BulkLoad(connection, [JournalLine]) as load, load.writing(JournalLine):
                JournalLine.objects.bulk_create(
                    [
                        JournalLine(
                            entry=posted,
                            account_id=line.account_id,
                            currency="EUR",
                            debit_minor=1,
                            functional_debit_minor=1,
                        )
                    ]
                )

        # refused when the load finishes on SQLite, by the statement's guard on PostgreSQL
        with pytest.raises(DatabaseError, match="ledger: posted journal entries are append-only"):
            add_a_line_to_a_posted_entry()
        assert schema() == before  # the held-back guard is back, with the indexes
        assert JournalLine.objects.filter(entry=posted).count() == 2

    def test_the_line_guard_is_back_after_a_load(self, entity, customers, bulk):
        import_items(entity, items(customers[0], 3))
        posted = JournalEntry.objects.filter(status=JournalEntry.Status.POSTED).first()
        assert posted is not None
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            JournalLine.objects.create(
                entry=posted,
                account_id=posted.lines.values_list("account_id", flat=True).first(),
                currency="EUR",
                debit_minor=1,
                functional_debit_minor=1,
            )

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner has no statistics of its own")
    def test_a_customer_s_documents_are_read_by_the_customer_index_after_a_load(
        self, entity, customers, bulk
    ):
        for customer in customers:
            import_items(entity, items(customer, 40, prefix=f"B{customer.pk}-"))
        query = str(
            Document.objects.filter(entity=entity, customer=customers[0])
            .order_by("-issue_date", "-id")[:50]
            .query
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT tbl FROM sqlite_stat1 WHERE tbl = 'receivables_document' LIMIT 1")
            assert cursor.fetchone() == ("receivables_document",)
            cursor.execute(f"EXPLAIN QUERY PLAN {query}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "receivables_custome_82ff4e_idx (customer_id=?)" in plan


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="replica mode and trigger states are PostgreSQL's"
)
class TestPostgresqlForeignKeys:
    def test_the_ledger_guards_fire_always_also_in_replica_mode(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid IN ('ledger_journalentry'::regclass, 'ledger_journalline'::regclass)"
            )
            states = dict(cursor.fetchall())
        assert states == {
            "ledger_entry_guard": "A",
            "ledger_entries_insert_guard": "A",
            "ledger_line_guard": "A",
            "ledger_lines_insert_guard": "A",
        }

    def test_a_row_pointing_nowhere_is_refused_when_the_load_finishes(self, entity, customers):
        import_items(entity, items(customers[0], 3))
        document = Document.objects.first()
        assert document is not None
        load = triggers.BulkLoad(connection, [Allocation])

        @transaction.atomic
        def write_a_dangling_allocation() -> None:
            with load:
                assert Allocation._meta.db_table in load.replica
                with load.writing(Allocation), connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO receivables_allocation (entity_id, document_id, kind, currency, "
                        "amount_minor, posting_date, reason, created_at) "
                        "VALUES (%s, 999999, 'migration', 'EUR', 1, '2025-01-01', '', now())",
                        [entity.pk],
                    )

        with pytest.raises(IntegrityError, match=r"receivables_allocation.*\(document_id\)=\(999999\)"):
            write_a_dangling_allocation()

    def test_a_row_naming_a_missing_entity_is_refused_naming_key_and_value(self, entity, customers):
        import_items(entity, items(customers[0], 3))
        load = triggers.BulkLoad(connection, [Allocation])
        document = Document.objects.order_by("pk").first()
        assert document is not None

        @transaction.atomic
        def write_an_allocation_of_no_entity() -> None:
            with load, load.writing(Allocation), connection.cursor() as cursor:
                for entity_id in (entity.pk, 888888):
                    cursor.execute(
                        "INSERT INTO receivables_allocation (entity_id, document_id, kind, currency, "
                        "amount_minor, posting_date, reason, created_at) "
                        "VALUES (%s, %s, 'migration', 'EUR', 1, '2025-01-01', '', now())",
                        [entity_id, document.pk],
                    )

        with pytest.raises(
            IntegrityError, match=r"receivables_allocation.*\(entity_id\)=\(888888\).*ledger_legalentity"
        ):
            write_an_allocation_of_no_entity()

    def test_a_duplicate_number_is_refused_when_the_unique_constraint_is_added_again(self, entity, customers):
        import_items(entity, items(customers[0], 3))
        document = Document.objects.order_by("pk").first()
        assert document is not None
        before = schema()
        load = triggers.BulkLoad(connection, [Document])

        @transaction.atomic
        def write_a_second_document_with_the_same_number() -> None:
            with load, load.writing(Document), connection.cursor() as cursor:
                assert "unique_document_number" not in connection.introspection.get_constraints(
                    cursor, Document._meta.db_table
                )
                columns = ", ".join(f.column for f in Document._meta.concrete_fields if not f.primary_key)
                cursor.execute(
                    f"INSERT INTO receivables_document (id, {columns}) "
                    f"SELECT (SELECT max(id) + 1 FROM receivables_document), {columns} "
                    "FROM receivables_document WHERE id = %s",
                    [document.pk],
                )

        with pytest.raises(IntegrityError, match=r"unique_document_number"):
            write_a_second_document_with_the_same_number()
        assert schema() == before
        assert Document.objects.filter(number=document.number).count() == 1


class TestBulkLoadAfterOtherWrites:
    def test_a_bulk_import_after_a_small_one_in_the_same_transaction(self, entity, customers, monkeypatch):
        with transaction.atomic():
            import_items(entity, items(customers[0], 5, prefix="SMALL"))
            monkeypatch.setattr(migration, "BULK_LOAD", 1)
            monkeypatch.setattr(ledger_services, "_BULK_LINES", 1)
            result = import_items(entity, items(customers[1], 40, prefix="BIG"))
        assert result.created == 40
        assert Document.objects.count() == 45
        assert all(check.run() == [] for check in checks.all_checks())
