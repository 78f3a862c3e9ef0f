"""Database triggers that keep the audit trail append-only: no event can be changed or deleted."""

from django.db.backends.base.base import BaseDatabaseWrapper

from o2c.core.db import execute_for_vendor

MESSAGE = "audit: the audit trail is append-only"

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_event_no_update", "DROP TRIGGER IF EXISTS audit_event_no_delete"]

# The guard fires in every session, also one with session_replication_role = replica (a write that
# checks its foreign keys set-based, see `core.keychecks`): ENABLE ALWAYS, not the default ORIGIN.
ENABLE_ALWAYS = "ALTER TABLE audit_auditevent ENABLE ALWAYS TRIGGER audit_event_guard"

POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$
    """,
    """
    CREATE TRIGGER audit_event_guard BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_guard()
    """,
    ENABLE_ALWAYS,
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_guard ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_event_guard()",
]


def install(connection: BaseDatabaseWrapper) -> None:
    execute_for_vendor(
        connection,
        {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL},
        what="the audit trail's guards",
    )


def drop(connection: BaseDatabaseWrapper) -> None:
    execute_for_vendor(
        connection, {"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}, what="the audit trail's guards"
    )
