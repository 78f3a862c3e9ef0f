"""`field__any=[...]`: membership in a long list of values as one parameter.

`field__in` writes a placeholder per value; for the thousands of ids and keys the cash matcher reads
per batch, building and parsing that SQL costs more than running it. PostgreSQL gets
`field = ANY(%s::type[])` with the list as one array literal (psycopg adapts a Python list element by
element, which for 40,000 ids costs five times as long as joining their text); SQLite
`field IN (SELECT value FROM json_each(%s))` with the list as JSON. Values must be ints or strings.

Pass a long list as a set or frozenset: Django resolves each element of a list or tuple lookup value as
a possible expression before the lookup sees it, which for 50,000 ids costs more than the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject, Lookup
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(  # type: ignore[override]
        self, value: Iterable[Any], connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        values = list(value)
        if not all(isinstance(item, int | str) for item in values):
            raise TypeError("field__any takes ints or strings")
        if connection.vendor == "postgresql":
            return "%s", [_array_literal(values)]
        return "%s", [json.dumps(values)]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({rhs}::{self.lhs.output_field.db_type(connection)}[])", [
                *lhs_params,
                *rhs_params,
            ]
        return f"{lhs} IN (SELECT value FROM json_each({rhs}))", [*lhs_params, *rhs_params]


def _array_literal(values: list[Any]) -> str:
    """PostgreSQL's text form of a one-dimensional array of ints or strings: strings quoted, with
    backslashes and double quotes escaped."""
    if all(isinstance(value, int) for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    quoted = ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)  # foreign keys take ids: `customer_id__any=[...]`
