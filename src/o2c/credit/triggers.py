"""Database triggers that keep the open receivables of the exposure summary (`credit_customerexposure`)
in step with the receivables documents, in the same transaction as every change of an open amount
(issue, allocation, reversal, credit memo, write-off, migration load, bulk runs alike).

An issued document's `open_minor` counts towards its customer's summary row in its currency. On
PostgreSQL the triggers are statement-level with transition tables (one set-based upsert per statement,
so a COPY of a million documents costs one aggregate, not a million upserts), and fire ALWAYS (also in
the replica-mode sessions of set-based loads, see `core.keychecks`); on SQLite they are row-level.

Deleting documents is not followed: an issued document is never deleted (it is immutable; a mistake is
a credit memo), and the test suites' flush of every table must not write exposure rows for customers
already removed (credit 0003 dropped the delete triggers of 0001).

SQLite rebuilds a table to alter it, which drops its triggers: a receivables migration that alters
`receivables_document` must be followed by a credit migration that installs these again
(tests/integration/credit/test_exposure.py proves they are present after `migrate`).
"""

from __future__ import annotations

_UPSERT = """
    INSERT INTO credit_customerexposure
        (customer_id, currency, receivables_minor, orders_minor, shipped_minor, unbilled_minor)
"""
_ON_CONFLICT = """
    ON CONFLICT (customer_id, currency)
    DO UPDATE SET receivables_minor = credit_customerexposure.receivables_minor + excluded.receivables_minor
"""

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER credit_exposure_document_insert AFTER INSERT ON receivables_document
    WHEN NEW.status = 'issued' AND NEW.open_minor <> 0
    BEGIN
        {_UPSERT} SELECT NEW.customer_id, NEW.currency, NEW.open_minor, 0, 0, 0 WHERE true {_ON_CONFLICT};
    END
    """,
    f"""
    CREATE TRIGGER credit_exposure_document_update
    AFTER UPDATE OF status, open_minor, customer_id, currency ON receivables_document
    WHEN (OLD.status = 'issued' AND OLD.open_minor <> 0) OR (NEW.status = 'issued' AND NEW.open_minor <> 0)
    BEGIN
        {_UPSERT} SELECT OLD.customer_id, OLD.currency, -OLD.open_minor, 0, 0, 0
        WHERE OLD.status = 'issued' AND OLD.open_minor <> 0 {_ON_CONFLICT};
        {_UPSERT} SELECT NEW.customer_id, NEW.currency, NEW.open_minor, 0, 0, 0
        WHERE NEW.status = 'issued' AND NEW.open_minor <> 0 {_ON_CONFLICT};
    END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS credit_exposure_document_insert",
    "DROP TRIGGER IF EXISTS credit_exposure_document_update",
    "DROP TRIGGER IF EXISTS credit_exposure_document_delete",
]


def _pg_upsert(deltas: str) -> str:
    # in customer order: concurrent statements lock the summary rows in the same order
    return f"""
        {_UPSERT}
        SELECT customer_id, currency, SUM(delta), 0, 0, 0 FROM ({deltas}) AS d
        GROUP BY customer_id, currency HAVING SUM(delta) <> 0
        ORDER BY customer_id, currency
        {_ON_CONFLICT};
    """


_NEW = "SELECT customer_id, currency, open_minor AS delta FROM new_rows WHERE status = 'issued'"
_OLD = "SELECT customer_id, currency, -open_minor AS delta FROM old_rows WHERE status = 'issued'"

POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION credit_exposure_documents_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {_pg_upsert(_NEW)}
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION credit_exposure_documents_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {_pg_upsert(_NEW + " UNION ALL " + _OLD)}
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER credit_exposure_document_insert AFTER INSERT ON receivables_document
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION credit_exposure_documents_inserted()
    """,
    """
    CREATE TRIGGER credit_exposure_document_update AFTER UPDATE ON receivables_document
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION credit_exposure_documents_updated()
    """,
    "ALTER TABLE receivables_document ENABLE ALWAYS TRIGGER credit_exposure_document_insert",
    "ALTER TABLE receivables_document ENABLE ALWAYS TRIGGER credit_exposure_document_update",
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS credit_exposure_document_insert ON receivables_document",
    "DROP TRIGGER IF EXISTS credit_exposure_document_update ON receivables_document",
    "DROP TRIGGER IF EXISTS credit_exposure_document_delete ON receivables_document",
    "DROP FUNCTION IF EXISTS credit_exposure_documents_inserted()",
    "DROP FUNCTION IF EXISTS credit_exposure_documents_updated()",
    "DROP FUNCTION IF EXISTS credit_exposure_documents_deleted()",
]

INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRESQL_INSTALL}
DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}

# the names `migrate` must leave installed (checked by the tests)
TRIGGER_NAMES = (
    "credit_exposure_document_insert",
    "credit_exposure_document_update",
)

# what credit 0003 removes from a database that 0001 gave the delete triggers
DROP_DELETE = {
    "sqlite": ["DROP TRIGGER IF EXISTS credit_exposure_document_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS credit_exposure_document_delete ON receivables_document",
        "DROP FUNCTION IF EXISTS credit_exposure_documents_deleted()",
    ],
}
