"""Database triggers that refuse an unbalanced or altered posted journal entry.

Installed by a migration that picks the SQL for the database it runs on. The in-memory rules
catch mistakes first with clear messages; these are the last line of defence.

A migration that alters `ledger_journalentry` or `ledger_journalline` must drop the guards first and
install them again after (see migration 0004): SQLite alters a table by rebuilding it.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

from o2c.core.db import execute_for_vendor

SQLITE_INSTALL = [
    """
    CREATE TRIGGER ledger_entry_must_balance BEFORE UPDATE OF status ON ledger_journalentry
    WHEN NEW.status = 'posted' AND OLD.status = 'draft'
    BEGIN
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
    END
    """,
    """
    CREATE TRIGGER ledger_entry_posted_is_immutable BEFORE UPDATE ON ledger_journalentry
    WHEN OLD.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: posted journal entries are append-only'); END
    """,
    """
    CREATE TRIGGER ledger_entry_posted_no_insert BEFORE INSERT ON ledger_journalentry
    WHEN NEW.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'ledger: a journal entry is posted only after its lines exist'); END
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
        "ledger_entry_posted_no_insert",
        "ledger_entry_posted_no_delete",
        "ledger_line_posted_no_insert",
        "ledger_line_posted_no_update",
        "ledger_line_posted_no_delete",
    )
]

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.status = 'posted' THEN
                RAISE EXCEPTION 'ledger: a journal entry is posted only after its lines exist';
            END IF;
            RETURN NEW;
        END IF;
        IF OLD.status = 'posted' THEN
            RAISE EXCEPTION 'ledger: posted journal entries are append-only';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        IF NEW.status = 'posted' THEN
            IF (SELECT count(*) FROM ledger_journalline WHERE entry_id = NEW.id) < 2 THEN
                RAISE EXCEPTION 'ledger: a journal entry needs two or more lines';
            END IF;
            IF EXISTS (
                SELECT 1 FROM ledger_journalline WHERE entry_id = NEW.id
                GROUP BY currency HAVING sum(debit_minor) <> sum(credit_minor)
            ) THEN
                RAISE EXCEPTION 'ledger: journal entry does not balance in transaction currency';
            END IF;
            IF (SELECT sum(functional_debit_minor) - sum(functional_credit_minor)
                FROM ledger_journalline WHERE entry_id = NEW.id) <> 0 THEN
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
    """
    CREATE TRIGGER ledger_entry_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard()
    """,
    """
    CREATE TRIGGER ledger_line_guard BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_line_guard()
    """,
    """
    CREATE TRIGGER ledger_lines_insert_guard AFTER INSERT ON ledger_journalline
    REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION ledger_lines_insert_guard()
    """,
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS ledger_entry_guard ON ledger_journalentry",
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
