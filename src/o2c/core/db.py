"""Database helpers that know nothing of the domain."""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


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
    model: type[Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *, batch: int = 5_000
) -> None:
    """Set `columns` of many rows by primary key: `rows` are (pk, value, ...) tuples.

    Django's bulk_update builds a CASE per column and row, which costs more than the update itself;
    here PostgreSQL joins a VALUES list and SQLite runs one prepared statement per row."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    table = connection.ops.quote_name(model._meta.db_table)
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in columns]
    names = [connection.ops.quote_name(field.column) for field in fields]
    pk = connection.ops.quote_name(model._meta.pk.column)
    prepared = [
        (
            row[0],
            *(
                field.get_db_prep_save(value, connection)
                for field, value in zip(fields, row[1:], strict=True)
            ),
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [field.db_type(connection) for field in fields]
            assignments = ", ".join(
                f"{name} = v.c{i}::{kind}" for i, (name, kind) in enumerate(zip(names, types, strict=True))
            )
            placeholders = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
            aliases = ", ".join(f"c{i}" for i in range(len(fields)))
            for offset in range(0, len(prepared), batch):
                chunk = prepared[offset : offset + batch]
                values = ", ".join([placeholders] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM (VALUES {values}) "
                    f"AS v(id, {aliases}) WHERE {table}.{pk} = v.id",
                    [value for row in chunk for value in row],
                )
        else:
            assignments = ", ".join(f"{name} = %s" for name in names)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [(*row[1:], row[0]) for row in prepared]
            )
