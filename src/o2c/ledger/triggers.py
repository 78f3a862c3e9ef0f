"""Database triggers that refuse an unbalanced or altered posted journal entry.

Installed by a migration that picks the SQL for the database it runs on. The in-memory rules
catch mistakes first with clear messages; these are the last line of defence.

A migration that alters `ledger_journalentry` or `ledger_journalline` must drop the guards first and
install them again after (see migration 0004): SQLite alters a table by rebuilding it.

`BulkLoad` is how a set-based import writes a million rows under these guards: they keep firing (on
PostgreSQL they are ENABLE ALWAYS for that reason), only the per-row work the database's manual
advises to avoid when populating tables is replaced by set-based work of the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

from django.db import IntegrityError, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from o2c.core import keychecks
from o2c.core.db import execute_for_vendor

# an entry about to be posted (updated to posted, or inserted posted after its lines) must balance
_SQLITE_BALANCES = """
        SELECT RAISE(ABORT, 'ledger: a journal entry needs two or more lines')
        WHERE (SELECT COUNT(*) FROM ledger_journalline WHERE entry_id = NEW.id) < 2;
        SELECT RAISE(ABORT, 'ledger: journal entry does not balance in transaction currency')
        WHERE EXISTS (
            SELECT 1 FROM ledger_journalline WHERE entry_id = NEW.id
            GROUP BY currency HAVING SUM(debit_minor) <> SUM(credit_minor)
        );
        SELECT RAISE(ABORT, 'ledger: journal entry does not balance in functional currency')
        WHERE (
            SELECT SUM(functional_debit_minor) - SUM(functional_credit_minor)
            FROM ledger_journalline WHERE entry_id = NEW.id
        ) <> 0;
"""

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER ledger_entry_must_balance BEFORE UPDATE OF status ON ledger_journalentry
    WHEN NEW.status = 'posted' AND OLD.status = 'draft'
    BEGIN {_SQLITE_BALANCES} END
    """,
    """
    CREATE TRIGGER ledger_entry_posted_is_immutable BEFORE UPDATE ON ledger_journalentry
    WHEN OLD.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: posted journal entries are append-only'); END
    """,
    f"""
    CREATE TRIGGER ledger_entry_inserted_posted_must_balance BEFORE INSERT ON ledger_journalentry
    WHEN NEW.status = 'posted'
    BEGIN {_SQLITE_BALANCES} END
    """,
    """
    CREATE TRIGGER ledger_entry_posted_no_delete BEFORE DELETE ON ledger_journalentry
    WHEN OLD.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: posted journal entries are append-only'); END
    """,
    """
    CREATE TRIGGER ledger_line_posted_no_insert BEFORE INSERT ON ledger_journalline
    WHEN (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: posted journal entries are append-only'); END
    """,
    """
    CREATE TRIGGER ledger_line_posted_no_update BEFORE UPDATE ON ledger_journalline
    WHEN (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted'
      OR (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: posted journal entries are append-only'); END
    """,
    """
    CREATE TRIGGER ledger_line_posted_no_delete BEFORE DELETE ON ledger_journalline
    WHEN (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: posted journal entries are append-only'); END
    """,
]

SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "ledger_entry_must_balance",
        "ledger_entry_posted_is_immutable",
        "ledger_entry_posted_no_insert",  # before the guard below replaced it
        "ledger_entry_inserted_posted_must_balance",
        "ledger_entry_posted_no_delete",
        "ledger_line_posted_no_insert",
        "ledger_line_posted_no_update",
        "ledger_line_posted_no_delete",
    )
]

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        line_count bigint;
        currency_count bigint;
        transaction_difference numeric;
        functional_difference numeric;
    BEGIN
        IF OLD.status = 'posted' THEN
            RAISE EXCEPTION 'ledger: posted journal entries are append-only';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        IF NEW.status = 'posted' THEN
            -- one pass over the entry's lines; the per-currency sums only for a mixed entry
            SELECT count(*), count(DISTINCT currency), sum(debit_minor) - sum(credit_minor),
                   sum(functional_debit_minor) - sum(functional_credit_minor)
            INTO line_count, currency_count, transaction_difference, functional_difference
            FROM ledger_journalline WHERE entry_id = NEW.id;
            IF line_count < 2 THEN
                RAISE EXCEPTION 'ledger: a journal entry needs two or more lines';
            END IF;
            IF transaction_difference <> 0 OR (currency_count > 1 AND EXISTS (
                SELECT 1 FROM ledger_journalline WHERE entry_id = NEW.id
                GROUP BY currency HAVING sum(debit_minor) <> sum(credit_minor)
            )) THEN
                RAISE EXCEPTION 'ledger: journal entry does not balance in transaction currency';
            END IF;
            IF functional_difference <> 0 THEN
                RAISE EXCEPTION 'ledger: journal entry does not balance in functional currency';
            END IF;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION ledger_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted' THEN
            RAISE EXCEPTION 'ledger: posted journal entries are append-only';
        END IF;
        IF TG_OP = 'UPDATE'
           AND (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted' THEN
            RAISE EXCEPTION 'ledger: posted journal entries are append-only';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$
    """,
    # Inserts are checked once per statement over all new lines: a row trigger costs ~40 µs a line,
    # which a migration import of a million items pays 1.8 million times.
    """
    CREATE OR REPLACE FUNCTION ledger_lines_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- one primary-key lookup per entry: a transition table has no statistics, and a join would
        -- let the planner scan the whole journal for every new line
        IF EXISTS (
            SELECT 1 FROM (SELECT DISTINCT entry_id FROM inserted_lines) AS touched
            WHERE (SELECT status FROM ledger_journalentry WHERE id = touched.entry_id) = 'posted'
        ) THEN
            RAISE EXCEPTION 'ledger: posted journal entries are append-only';
        END IF;
        RETURN NULL;
    END $$
    """,
    # Entries inserted posted after their lines (the bulk posting path) are checked once per statement,
    # as an update to posted checks one: lines by entry through the entry index (LATERAL: a transition
    # table has no statistics), the per-currency sums only for a mixed entry.
    """
    CREATE OR REPLACE FUNCTION ledger_entries_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        failure text;
    BEGIN
        SELECT checked.failure INTO failure FROM (
            SELECT CASE
                WHEN s.line_count < 2 THEN 'ledger: a journal entry needs two or more lines'
                WHEN s.transaction_difference <> 0 OR (s.currency_count > 1 AND EXISTS (
                    SELECT 1 FROM ledger_journalline WHERE entry_id = e.id
                    GROUP BY currency HAVING sum(debit_minor) <> sum(credit_minor)
                )) THEN 'ledger: journal entry does not balance in transaction currency'
                WHEN s.functional_difference <> 0
                    THEN 'ledger: journal entry does not balance in functional currency'
            END AS failure
            FROM (SELECT id FROM inserted_entries WHERE status = 'posted') AS e
            CROSS JOIN LATERAL (
                SELECT count(*) AS line_count, count(DISTINCT currency) AS currency_count,
                       sum(debit_minor) - sum(credit_minor) AS transaction_difference,
                       sum(functional_debit_minor) - sum(functional_credit_minor) AS functional_difference
                FROM ledger_journalline WHERE entry_id = e.id
            ) AS s
        ) AS checked
        WHERE checked.failure IS NOT NULL
        LIMIT 1;
        IF failure IS NOT NULL THEN
            RAISE EXCEPTION '%', failure;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ledger_entry_guard BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard()
    """,
    """
    CREATE TRIGGER ledger_entries_insert_guard AFTER INSERT ON ledger_journalentry
    REFERENCING NEW TABLE AS inserted_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_insert_guard()
    """,
    """
    CREATE TRIGGER ledger_line_guard BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_line_guard()
    """,
    """
    CREATE TRIGGER ledger_lines_insert_guard AFTER INSERT ON ledger_journalline
    REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION ledger_lines_insert_guard()
    """,
    # The guards fire in every session, also one with session_replication_role = replica (a bulk load
    # that checks its foreign keys set-based, see `BulkLoad`): ENABLE ALWAYS, not the default ORIGIN.
    "ALTER TABLE ledger_journalentry ENABLE ALWAYS TRIGGER ledger_entry_guard",
    "ALTER TABLE ledger_journalentry ENABLE ALWAYS TRIGGER ledger_entries_insert_guard",
    "ALTER TABLE ledger_journalline ENABLE ALWAYS TRIGGER ledger_line_guard",
    "ALTER TABLE ledger_journalline ENABLE ALWAYS TRIGGER ledger_lines_insert_guard",
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS ledger_entry_guard ON ledger_journalentry",
    "DROP TRIGGER IF EXISTS ledger_entries_insert_guard ON ledger_journalentry",
    "DROP FUNCTION IF EXISTS ledger_entries_insert_guard()",
    "DROP TRIGGER IF EXISTS ledger_line_guard ON ledger_journalline",
    "DROP TRIGGER IF EXISTS ledger_lines_insert_guard ON ledger_journalline",
    "DROP FUNCTION IF EXISTS ledger_lines_insert_guard()",
    "DROP FUNCTION IF EXISTS ledger_entry_guard()",
    "DROP FUNCTION IF EXISTS ledger_line_guard()",
]


def install(connection: BaseDatabaseWrapper) -> None:
    execute_for_vendor(
        connection, {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}, what="the ledger's guards"
    )


def drop(connection: BaseDatabaseWrapper) -> None:
    execute_for_vendor(
        connection, {"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}, what="the ledger's guards"
    )


# SQLite: the row triggers a bulk load holds back, per table, each with the statement `finish()` runs
# instead over the new rows (the trigger's condition, once for all of them) and the trigger's message
SQLITE_HELD_BACK = {
    "ledger_journalline": [
        (
            "ledger_line_posted_no_insert",
            "SELECT 1 FROM ledger_journalline AS line "
            "JOIN ledger_journalentry AS entry ON entry.id = line.entry_id "
            "WHERE line.id > %s AND entry.status = 'posted' LIMIT 1",
            "ledger: posted journal entries are append-only",
        )
    ],
}


class BulkLoad:
    """A large set-based write into `tables`, inside the caller's transaction, with every rule kept.

    - The tables are locked for the rest of the transaction (ACCESS EXCLUSIVE on PostgreSQL; on SQLite
      the IMMEDIATE transaction holds the database's write lock anyway): other sessions wait.
    - Their secondary indexes (not primary keys, not partial ones) are dropped on entry and built
      again by `finish()`: one sort per index instead of a b-tree descent per row and index, about
      four times cheaper for a table that doubles. On PostgreSQL that includes unique constraints no
      foreign key relies on: adding one again checks every row, old and new, and a duplicate fails
      the load. Other unique indexes stay and check every row as always.
    - On PostgreSQL, when the session may set `session_replication_role` and every trigger on a table
      fires ALWAYS except its foreign-key triggers (the ledger's guards are ENABLE ALWAYS), rows written
      inside `writing(model)` skip only the per-row foreign-key checks (~10 µs a row and key at commit).
      `finish()` then checks the foreign keys of the new rows set-based and locks the rows they
      reference FOR KEY SHARE, as those checks would have; a missing row raises IntegrityError.
      Without the privilege the rows are checked one by one as usual, only slower.
    - On SQLite the row triggers of `SQLITE_HELD_BACK` (a journal line's check that its entry is not
      posted: a third of the cost of inserting it) are dropped for the load; `finish()` runs their
      condition once over the new rows, raising IntegrityError with the trigger's message, and
      creates them again as they were. It also samples statistics of the loaded tables for SQLite's
      planner (`ANALYZE` with `analysis_limit`).

    Leaving the block by an exception skips `finish()`: the transaction is rolled back, and with it
    the dropped indexes come back (DDL is transactional on both databases).
    """

    def __init__(
        self,
        connection: BaseDatabaseWrapper,
        tables: Sequence[type[models.Model]],
    ) -> None:
        self.connection = connection
        self.tables = list(tables)
        self.indexes: list[str] = []  # the definitions of the dropped indexes, to build again
        self.replica: set[str] = set()  # tables whose rows skip the per-row foreign-key checks
        self.written: set[str] = set()  # ... and had rows written so
        self.last_id: dict[str, int] = {}  # highest primary key before the load, per table
        self.foreign_keys: dict[str, list[tuple[str, str, str, str]]] = {}
        self.held_back: list[tuple[str, str, str, str]] = []  # SQLite: (table, trigger SQL, check, message)
        self.finished = False

    def __enter__(self) -> BulkLoad:
        postgresql = self.connection.vendor == "postgresql"
        with self.connection.cursor() as cursor:
            if postgresql:
                names = ", ".join(self.connection.ops.quote_name(t._meta.db_table) for t in self.tables)
                cursor.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            for table in self.tables:
                for name, definition in self._secondary_indexes(cursor, table._meta.db_table):
                    self.indexes.append(definition)
                    cursor.execute(f"DROP INDEX {name}")
                if not postgresql:
                    self._hold_back_triggers(cursor, table)
                if postgresql:
                    unique = self._unique_constraints(cursor, table._meta.db_table)
                    if unique:  # no ALTER TABLE while rows written earlier await their checks
                        self._run_pending_checks(cursor)
                    for drop, add in unique:
                        self.indexes.append(add)
                        cursor.execute(drop)
        if postgresql and keychecks.may_skip_key_triggers(self.connection):
            with self.connection.cursor() as cursor:
                for table in self.tables:
                    db_table, pk = table._meta.db_table, table._meta.pk.column
                    found = keychecks.eligible(cursor, db_table, pk)
                    if found is None:
                        continue
                    self.foreign_keys[db_table], self.last_id[db_table] = found
                    self.replica.add(db_table)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish()

    @contextmanager
    def writing(self, table: type[models.Model]) -> Iterator[None]:
        """Statements in this block write `table`'s new rows (without per-row foreign-key checks where
        `finish()` checks them)."""
        db_table = table._meta.db_table
        if db_table not in self.replica:
            yield
            return
        self.written.add(db_table)
        with keychecks.replica_mode(self.connection):
            yield

    def finish(self) -> None:
        """Build the dropped indexes again, then check the foreign keys of the rows written."""
        if self.finished:
            return
        self.finished = True
        with self.connection.cursor() as cursor:
            if self.indexes and self.connection.vendor == "postgresql":
                self._run_pending_checks(cursor)
                cursor.execute("SHOW maintenance_work_mem")
                before = cursor.fetchone()[0]
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in self.indexes:
                cursor.execute(definition)
            if self.indexes and self.connection.vendor == "postgresql":
                cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [before])
            if self.connection.vendor == "sqlite":
                self._analyze(cursor)
            for db_table, definition, check, message in self.held_back:
                cursor.execute(check, [self.last_id[db_table]])
                if cursor.fetchone() is not None:
                    raise IntegrityError(message)
                cursor.execute(definition)
            locked = {table._meta.db_table for table in self.tables}
            for table in self.tables:
                db_table, pk = table._meta.db_table, table._meta.pk.column
                if db_table not in self.written:
                    continue
                keychecks.check_foreign_keys(
                    cursor, db_table, pk, self.foreign_keys[db_table], self.last_id[db_table], locked
                )

    def _analyze(self, cursor: CursorWrapper) -> None:
        """SQLite plans without statistics by rules that pick among similar indexes by their order:
        after a load, a list by customer was read through the index by entity (1.4 s instead of 8 ms
        at 1M documents). A sampled ANALYZE of the loaded tables (1,000 rows per index, milliseconds)
        gives the planner the statistics to choose."""
        cursor.execute("PRAGMA analysis_limit")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA analysis_limit = 1000")
        for table in self.tables:
            cursor.execute(f"ANALYZE {self.connection.ops.quote_name(table._meta.db_table)}")
        cursor.execute(f"PRAGMA analysis_limit = {int(before)}")

    def _hold_back_triggers(self, cursor: CursorWrapper, table: type[models.Model]) -> None:
        db_table, pk = table._meta.db_table, table._meta.pk.column
        for name, check, message in SQLITE_HELD_BACK.get(db_table, []):
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
            found = cursor.fetchone()
            if found is None:  # not installed (as in tests that stand the guards down)
                continue
            cursor.execute(f"SELECT coalesce(max({pk}), 0) FROM {db_table}")
            self.last_id[db_table] = cursor.fetchone()[0]
            cursor.execute(f"DROP TRIGGER {name}")
            self.held_back.append((db_table, found[0], check, message))

    def _run_pending_checks(self, cursor: CursorWrapper) -> None:
        """PostgreSQL builds no index on a table with deferred checks pending (rows written earlier in
        the transaction, or by this load where it could not skip them): run those checks now, as
        `SET CONSTRAINTS ... IMMEDIATE` does, then defer the constraints again as they were declared."""
        cursor.execute(
            "SELECT DISTINCT quote_ident(n.nspname) || '.' || quote_ident(c.conname), c.condeferred "
            "FROM pg_constraint AS c JOIN pg_namespace AS n ON n.oid = c.connamespace "
            "WHERE c.condeferrable "
            "AND (c.conrelid = ANY(%s::regclass[]) OR c.confrelid = ANY(%s::regclass[]))",
            [[t._meta.db_table for t in self.tables]] * 2,
        )
        constraints = cursor.fetchall()
        if constraints:
            cursor.execute(f"SET CONSTRAINTS {', '.join(name for name, _ in constraints)} IMMEDIATE")
            deferred = [name for name, initially_deferred in constraints if initially_deferred]
            if deferred:
                cursor.execute(f"SET CONSTRAINTS {', '.join(deferred)} DEFERRED")

    @staticmethod
    def _unique_constraints(cursor: CursorWrapper, table: str) -> list[tuple[str, str]]:
        """(DROP, ADD) statements of each unique constraint of the table that no foreign key relies on:
        its index costs more row by row than built once, and adding it again checks every row."""
        cursor.execute(
            "SELECT quote_ident(c.conname), pg_get_constraintdef(c.oid) FROM pg_constraint AS c "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'u' "
            "AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint AS f WHERE f.contype = 'f' AND f.conindid = c.conindid) "
            "ORDER BY 1",
            [table],
        )
        return [
            (
                f"ALTER TABLE {table} DROP CONSTRAINT {name}",
                f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
            )
            for name, definition in cursor.fetchall()
        ]

    def _secondary_indexes(self, cursor: CursorWrapper, table: str) -> list[tuple[str, str]]:
        """(name, definition) of each index that is neither a primary key, nor unique, nor partial: a
        partial index holds few rows (those a load writes rarely match its condition, and then cost what
        any row costs), while building it again scans the whole table."""
        if self.connection.vendor == "postgresql":
            cursor.execute(
                "SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid) FROM pg_index AS x "
                "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique "
                "AND NOT x.indisexclusion AND x.indisvalid AND x.indpred IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid) "
                "ORDER BY 1",
                [table],
            )
            return [(name, definition) for name, definition in cursor.fetchall()]
        cursor.execute(f"PRAGMA index_list({self.connection.ops.quote_name(table)})")
        plain = [row[1] for row in cursor.fetchall() if not row[2] and row[3] == "c" and not row[4]]
        found = []
        for name in sorted(plain):
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
            found.append((self.connection.ops.quote_name(name), cursor.fetchone()[0]))
        return found
