"""Database helpers that know nothing of the domain."""

from django.db import connection


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"
