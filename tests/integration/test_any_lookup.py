"""`field__any`: one array parameter on PostgreSQL, JSON on SQLite; every string comes back as written."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db

AWKWARD_NAMES = frozenset(
    {
        'say "hi"',
        "back\\slash",
        "a,b",
        "{braces}",
        "NULL",
        " padded ",
        "Müller & Söhne",
        "",
    }
)


def test_any_finds_strings_with_quotes_backslashes_commas_braces_and_the_word_null() -> None:
    for name in AWKWARD_NAMES | {"not asked"}:
        Group.objects.create(name=name)

    found = set(Group.objects.filter(name__any=AWKWARD_NAMES).values_list("name", flat=True))

    assert found == AWKWARD_NAMES


def test_any_finds_ids_and_nothing_for_an_empty_set() -> None:
    groups = [Group.objects.create(name=f"g{number}") for number in range(5)]
    wanted = frozenset(group.pk for group in groups[1:4])

    assert set(Group.objects.filter(pk__any=wanted).values_list("pk", flat=True)) == wanted
    assert list(Group.objects.filter(pk__any=frozenset())) == []


def test_any_refuses_values_that_are_neither_ints_nor_strings() -> None:
    with pytest.raises(TypeError, match="ints or strings"):
        list(Group.objects.filter(name__any=frozenset({1.5})))
