"""Database helpers that know nothing of the domain."""

from collections.abc import Mapping, Sequence

from django.db.backends.base.base import BaseDatabaseWrapper


def execute_for_vendor(
    connection: BaseDatabaseWrapper, statements: Mapping[str, Sequence[str]], *, what: str
) -> None:
    """Run the SQL written for the connection's database (triggers and other guards per vendor)."""
    if connection.vendor not in statements:
        raise RuntimeError(f"{what} are not written for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in statements[connection.vendor]:
            cursor.execute(statement)
