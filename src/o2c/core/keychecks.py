"""Foreign keys of many new rows checked set-based instead of row by row (PostgreSQL).

PostgreSQL checks a foreign key with a trigger per row and key (about 10 µs each, queued until commit
for the deferred constraints Django declares). A write of many rows can instead skip those triggers
(`session_replication_role = replica`, for a session allowed to set it) and check the keys of all new
rows at once: the same rule, the same FOR KEY SHARE locks on the rows they reference, and the same
IntegrityError for a missing row. Only tables whose every other trigger fires ALWAYS qualify, so no
rule but the per-row key check is skipped.

`KeyChecks` does that for the rows `core.db.insert_rows` and `core.db.copy_from_stdin` write into its
tables inside its block (a billing run's chunk); `ledger.triggers.BulkLoad` uses the same checks for
an import. Without the privilege, or on SQLite, rows are checked one by one as always.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import TracebackType

from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

# (column, referenced table, referenced column, constraint name)
ForeignKey = tuple[str, str, str, str]

_active: ContextVar[KeyChecks | None] = ContextVar("o2c_key_checks", default=None)


class KeyChecks:
    """Within the caller's transaction: new rows of `tables` written by `insert_rows` or
    `copy_from_stdin` skip the per-row foreign-key checks, and leaving the block without an error
    checks the keys of every row written into those tables since it began, set-based.

    A row is new when its primary key is above the table's highest when the block began (keys come
    from sequences). Leaving by an exception checks nothing: the caller's transaction is rolled back.
    """

    def __init__(self, connection: BaseDatabaseWrapper, tables: Sequence[type[models.Model]]) -> None:
        self.connection = connection
        self.tables = [(table._meta.db_table, table._meta.pk.column) for table in tables]
        self.keys: dict[str, list[ForeignKey]] = {}  # tables whose rows skip the per-row checks
        self.last_id: dict[str, int] = {}
        self.written: set[str] = set()
        self.token: Token[KeyChecks | None] | None = None

    def __enter__(self) -> KeyChecks:
        if self.connection.vendor != "postgresql" or not may_skip_key_triggers(self.connection):
            return self
        with self.connection.cursor() as cursor:
            for table, pk in self.tables:
                found = eligible(cursor, table, pk)
                if found is not None:
                    self.keys[table], self.last_id[table] = found
        if self.keys:
            self.token = _active.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.token is not None:
            _active.reset(self.token)
            self.token = None
        if exc_type is None:
            with self.connection.cursor() as cursor:
                for table, pk in self.tables:
                    if table in self.written:
                        check_foreign_keys(cursor, table, pk, self.keys[table], self.last_id[table], set())

    @contextmanager
    def writing(self, table: str) -> Iterator[None]:
        if table not in self.keys:
            yield
            return
        self.written.add(table)
        with replica_mode(self.connection):
            yield


@contextmanager
def replica_mode(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """The block's statements skip the triggers that fire only in origin mode (the foreign-key checks
    of the tables `KeyChecks` and `BulkLoad` admit), until the end of the block."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


@contextmanager
def writing(connection: BaseDatabaseWrapper, table: str) -> Iterator[None]:
    """Around a statement that inserts new rows into `table` (unquoted name): skips their per-row key
    checks when a `KeyChecks` block on this connection covers the table."""
    checks = _active.get()
    if checks is None or checks.connection.alias != connection.alias:
        yield
        return
    with checks.writing(table):
        yield


def eligible(cursor: CursorWrapper, table: str, pk: str) -> tuple[list[ForeignKey], int] | None:
    """A table whose new rows may skip the per-row key checks: its single-column foreign keys and its
    highest primary key now (rows above it are new); None when a key spans several columns or another
    trigger or rule would stay silent in replica mode."""
    keys = foreign_keys(cursor, table)
    if keys is None or not only_always_triggers(cursor, table):
        return None
    cursor.execute(f"SELECT coalesce(max({pk}), 0) FROM {table}")
    return keys, cursor.fetchone()[0]


def check_foreign_keys(
    cursor: CursorWrapper,
    table: str,
    pk: str,
    keys: Sequence[ForeignKey],
    last_id: int,
    locked: set[str],
) -> None:
    """Check every foreign key of the rows above `last_id`, as the per-row checks would have, and raise
    the IntegrityError they would have raised for a missing row.

    A key to a table in `locked` (a bulk load's own tables: as many values as rows, and the table
    locked already) is checked by an anti-join of the new rows. The other keys (customers, entities,
    accounts, a chunk's documents: few distinct values) are checked together in one statement with
    one scan of the new rows: the distinct values of each column (GROUPING SETS) are compared with the
    rows they reference, which are locked FOR KEY SHARE as the per-row checks would lock them."""
    if not keys:
        return
    inside = [key for key in keys if key[1] in locked]
    outside = [key for key in keys if key[1] not in locked]
    # one scan: the distinct values of each outside key, and (the grand total, `()`) how many new
    # rows fill each inside key: most loads leave some keys empty
    groups = [column for column, *_ in outside]
    flags = [f"GROUPING({column}) AS set_{at}" for at, column in enumerate(groups)]
    filled = [f"count({column}) AS filled_{at}" for at, (column, *_) in enumerate(inside)]
    grouping = (
        f" GROUP BY GROUPING SETS ({''.join(f'({column}), ' for column in groups)}())" if groups else ""
    )
    parts = [
        f"found AS MATERIALIZED (SELECT {', '.join([*groups, *flags, *filled])} FROM {table} "
        f"WHERE {pk} > %s{grouping})"
    ]
    total = " AND ".join([f"set_{at} = 1" for at in range(len(groups))] or ["TRUE"])
    answers = [f"(SELECT filled_{at} FROM found WHERE {total})" for at in range(len(inside))]
    for at, (column, parent, parent_column, _) in enumerate(outside):
        wanted = f"SELECT {column} FROM found WHERE set_{at} = 0 AND {column} IS NOT NULL"
        parts.append(
            f"held_{at} AS MATERIALIZED (SELECT 1 FROM {parent} AS p "
            f"WHERE p.{parent_column} IN ({wanted}) FOR KEY SHARE OF p)"
        )
        answers.append(f"(SELECT count(*) FROM ({wanted}) AS n) - (SELECT count(*) FROM held_{at})")
    cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(answers)}", [last_id])
    found = cursor.fetchone()
    for key, rows_filled in zip(inside, found[: len(inside)], strict=True):
        if rows_filled:
            value = _first_missing(cursor, table, pk, key, last_id)
            if value is not None:
                raise _violation(table, key, value)
    for key, missing in zip(outside, found[len(inside) :], strict=True):
        if missing:
            raise _violation(table, key, _first_missing(cursor, table, pk, key, last_id))


def _violation(table: str, key: ForeignKey, value: object) -> IntegrityError:
    column, parent, _, name = key
    return IntegrityError(
        f'insert or update on table "{table}" violates foreign key constraint "{name}": '
        f'key ({column})=({value}) is not present in table "{parent}"'
    )


def _first_missing(
    cursor: CursorWrapper, table: str, pk: str, key: ForeignKey, last_id: int
) -> object | None:
    """A value of the key's column in the new rows that its parent table lacks, or None."""
    column, parent, parent_column, _ = key
    cursor.execute(
        f"SELECT n.v FROM (SELECT {column} FROM {table} WHERE {pk} > %s) AS n (v) "
        f"WHERE n.v IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{parent_column} = n.v) LIMIT 1",
        [last_id],
    )
    found = cursor.fetchone()
    return None if found is None else found[0]


def may_skip_key_triggers(connection: BaseDatabaseWrapper) -> bool:
    """Whether this session may set session_replication_role (a superuser, or on PostgreSQL 15 and
    later a role granted SET on it), and it is at its default."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        if cursor.fetchone()[0] != "origin":
            return False
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute("SET LOCAL session_replication_role = origin")
        except DatabaseError:
            return False
    return True


def only_always_triggers(cursor: CursorWrapper, table: str) -> bool:
    """No trigger or rule of the table would stay silent in replica mode, but its foreign-key checks."""
    cursor.execute(
        "SELECT count(*) FROM pg_trigger AS t LEFT JOIN pg_constraint AS c ON c.oid = t.tgconstraint "
        "WHERE t.tgrelid = %s::regclass AND t.tgenabled <> 'A' AND c.contype IS DISTINCT FROM 'f'",
        [table],
    )
    triggers = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM pg_rewrite WHERE ev_class = %s::regclass", [table])
    return triggers == 0 and cursor.fetchone()[0] == 0


def foreign_keys(cursor: CursorWrapper, table: str) -> list[ForeignKey] | None:
    """(column, referenced table, referenced column, constraint) per foreign key of the table; None
    when one spans several columns (not checked set-based here)."""
    cursor.execute(
        "SELECT quote_ident(a.attname), c.confrelid::regclass::text, quote_ident(r.attname), "
        "c.conname, cardinality(c.conkey) FROM pg_constraint AS c "
        "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute AS r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid = %s::regclass ORDER BY c.conname",
        [table],
    )
    rows = cursor.fetchall()
    if any(width != 1 for *_, width in rows):
        return None
    return [(column, parent, parent_column, name) for column, parent, parent_column, name, _ in rows]
