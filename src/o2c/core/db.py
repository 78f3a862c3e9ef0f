"""Database helpers that know nothing of the domain."""

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from queue import SimpleQueue
from typing import Any, Generic, TypeVar, cast

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, JSONField, Model

from o2c.core import keychecks


def execute_for_vendor(
    connection: BaseDatabaseWrapper, statements: Mapping[str, Sequence[str]], *, what: str
) -> None:
    """Run the SQL written for the connection's database (triggers and other guards per vendor)."""
    if connection.vendor not in statements:
        raise RuntimeError(f"{what} are not written for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in statements[connection.vendor]:
            cursor.execute(statement)


def update_rows(
    model: type[Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *, batch: int = 50_000
) -> None:
    """Set `columns` of many rows by primary key: `rows` are (pk, value, ...) tuples.

    Django's bulk_update builds a CASE per column and row, which costs more than the update itself;
    here PostgreSQL joins one array per column (unnest: no statement text or parameter per value)
    and SQLite runs one prepared statement per row."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    table = connection.ops.quote_name(model._meta.db_table)
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in columns]
    names = [connection.ops.quote_name(field.column) for field in fields]
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg adapts lists of dates, text and numbers itself; only JSON needs the field's adapter
            types = [cast(Any, model._meta.pk).rel_db_type(connection)] + [
                field.db_type(connection) for field in fields
            ]
            converting = [False] + [isinstance(field, JSONField) for field in fields]
            assignments = ", ".join(f"{name} = v.c{i}" for i, name in enumerate(names, start=1))
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            aliases = ", ".join(f"c{i}" for i in range(len(types)))
            statement = (
                f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({aliases}) "
                f"WHERE {table}.{pk} = v.c0"
            )
            all_fields = [model._meta.pk, *fields]
            for offset in range(0, len(rows), batch):
                chunk = rows[offset : offset + batch]
                cursor.execute(
                    statement,
                    [
                        [field.get_db_prep_save(row[i], connection) for row in chunk]
                        if convert
                        else [row[i] for row in chunk]
                        for i, (field, convert) in enumerate(zip(all_fields, converting, strict=True))
                    ],
                )
        else:
            prepared = [
                (
                    *(
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(fields, row[1:], strict=True)
                    ),
                    row[0],
                )
                for row in rows
            ]
            assignments = ", ".join(f"{name} = %s" for name in names)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", prepared)


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """`count` primary keys of `model` taken from its sequence now, for rows inserted with explicit ids
    (so a bulk insert needs no RETURNING and children can point at parents before either is written)."""
    if count <= 0:
        return []
    connection = connections[router.db_for_write(model)]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite (AUTOINCREMENT): move the table's counter; the write lock it takes serialises writers
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        if found is None:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
            first = int(cursor.fetchone()[0]) + 1
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first + count - 1]
            )
        else:
            first = int(found[0]) + 1
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + count - 1, table])
        return list(range(first, first + count))


def insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert plain value tuples (in `columns` order, field names) without building model instances:
    COPY on PostgreSQL, one prepared INSERT on SQLite. Values must already be what the fields hold
    (Decimals rounded to their places, aware datetimes); SQLite gets them converted by the fields."""
    connection = connections[router.db_for_write(model)]
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    if connection.vendor == "postgresql":
        # psycopg adapts Decimal, dates, text and numbers itself; only JSON needs the field's adapter
        converting = [isinstance(field, JSONField) for field in fields]
    else:
        converting = [True] * len(fields)
    prepared = (
        [
            field.get_db_prep_save(value, connection) if convert else value
            for field, convert, value in zip(fields, converting, row, strict=True)
        ]
        for row in rows
    )
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                keychecks.writing(connection, model._meta.db_table),
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for values in prepared:
                    copy.write_row(values)
                    count += 1
        else:
            batch = list(prepared)
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})", batch
            )
            count = len(batch)
    return count


def insert_new_rows(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """`insert_rows` for new rows (`columns` without the primary key): ids from `reserve_ids`,
    returned in the rows' order."""
    ids = reserve_ids(model, len(rows))
    if ids:
        insert_rows(
            model, [model._meta.pk.name, *columns], [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        )
    return ids


def insert_objects(model: type[Model], objects: Sequence[Model]) -> None:
    """`bulk_create` for large batches: unsaved instances get ids from `reserve_ids`, then all their
    concrete fields go in with `insert_rows` (Django's bulk_create spends more on building the
    statement than the database spends on the rows)."""
    if not objects:
        return
    pk_name = model._meta.pk.attname
    missing = [obj for obj in objects if getattr(obj, pk_name) is None]
    for obj, new_id in zip(missing, reserve_ids(model, len(missing)), strict=True):
        setattr(obj, pk_name, new_id)
    fields = list(model._meta.concrete_fields)
    insert_rows(
        model,
        [field.name for field in fields],
        ([field.pre_save(obj, True) for field in fields] for obj in objects),
    )
    for obj in objects:
        obj._state.adding = False
        obj._state.db = router.db_for_write(model)


def copy_value(value: object) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


@contextmanager
def copy_from_stdin(
    connection: BaseDatabaseWrapper, table: str, columns: Sequence[str]
) -> Iterator[Callable[[str], None]]:
    """`COPY table (columns) FROM STDIN` on PostgreSQL; yields a function that sends rows in COPY
    text format (see `copy_value`). A background thread sends the text (psycopg's
    QueuedLibpqWriter), so the caller builds the next rows while the server parses the last ones:
    on two cores Python's and PostgreSQL's work overlap instead of taking turns."""
    from psycopg.copy import QueuedLibpqWriter  # PostgreSQL only

    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    cursor = connection.connection.cursor()
    with (
        keychecks.writing(connection, table),
        cursor,
        cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy,
    ):
        yield copy.write


T = TypeVar("T")
SWITCH_INTERVAL = 0.0005  # seconds; see `running_alongside`


class Handoff(Generic[T]):
    """Items made in one thread and used, in order, in another (see `running_alongside`): the maker
    `put`s each, then `close`s, or `abort`s with its error; the user iterates, waiting for each item,
    and gets the maker's error (RuntimeError) instead of waiting forever for a maker that failed."""

    _END = object()

    def __init__(self) -> None:
        self._queue: SimpleQueue[Any] = SimpleQueue()

    def put(self, item: T) -> None:
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(self._END)

    def abort(self, error: BaseException) -> None:
        self._queue.put(_Aborted(error))

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, _Aborted):
                raise RuntimeError(f"the items stopped coming: {item.error!r}")
            yield item


class _Aborted:
    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def running_alongside(connection: BaseDatabaseWrapper, work: Callable[[], None]) -> Iterator[None]:
    """Run `work` (database writes on `connection`, in its transaction) in a second thread while the
    caller's block does Python work that needs no database: the database's time and Python's then
    overlap on two cores instead of adding up. In that thread `connections[alias]` (and so the ORM)
    is `connection` itself, not a new connection outside the transaction, which would wait for the
    transaction's locks forever. Leaving the block waits for `work` and raises its error."""
    if not isinstance(connection, BaseDatabaseWrapper):  # `django.db.connection` is a per-thread proxy
        raise TypeError("running_alongside needs the connection itself: connections[alias]")
    failures: list[BaseException] = []

    def run() -> None:
        connections[connection.alias] = connection
        try:
            work()
        except BaseException as error:  # handed to the caller's thread
            failures.append(error)
        finally:
            del connections[connection.alias]  # forgets this thread's entry; the connection stays open

    connection.inc_thread_sharing()
    # the database thread needs Python's lock for a moment at every round trip; the caller's block
    # holds it for 5 ms at a time by default, long enough to leave the database waiting for data
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    worker = threading.Thread(target=run, name="o2c-database-work")
    worker.start()
    try:
        yield
    finally:
        worker.join()
        sys.setswitchinterval(switch_interval)
        connection.dec_thread_sharing()
    if failures:
        raise failures[0]
