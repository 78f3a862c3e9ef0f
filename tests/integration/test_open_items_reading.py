"""Reading an open-items file a block of columns at a time gives what reading it a row at a time gives.

`read_open_items` checks blocks of plain rows column by column (`_PlainBlocks`) and reads any other
block row by row. Random files of plain and unusual rows, read in blocks of two rows, must give the
same items, with the same row numbers, or the same first error, as the row-by-row reading alone.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2c.core.exceptions import InputError
from o2c.ledger.models import LegalEntity
from o2c.receivables.migration import OpenItemIn
from o2c.workspace import importers

HEADER = "invoice_number,customer_number,issue_date,due_date,currency,amount,open_amount,po_number,paid_date"


@st.composite
def plain_row(draw: st.DrawFn) -> str:
    """A row of the plain shape: valid, or wrong in one way the column checks must catch."""
    amount = draw(st.integers(1, 10**6))
    open_amount = draw(st.integers(0, amount))
    sign = draw(st.sampled_from(["", "-"]))
    open_sign = sign if open_amount else ""
    flaw = draw(st.sampled_from([None, None, None, "open_sign", "open_over", "due_early", "paid_early"]))
    if flaw == "open_sign":
        open_sign = "-" if sign == "" else ""
    if flaw == "open_over":
        open_amount = amount + 1
    issue, due, paid = "2025-01-31", draw(st.sampled_from(["2025-01-31", "2025-03-01"])), ""
    if draw(st.booleans()):
        paid = draw(st.sampled_from(["2025-01-31", "2025-02-15"]))
    if flaw == "due_early":
        due = "2025-01-30"
    if flaw == "paid_early":
        paid = "2024-12-31"
    return ",".join(
        [
            draw(st.sampled_from(["INV-1", "INV-2", " INV-3 "])),
            draw(st.sampled_from(["C-1", "C-2 "])),
            issue,
            due,
            draw(st.sampled_from(["EUR", "USD"])),
            f"{sign}{amount // 100}.{amount % 100:02d}",
            f"{open_sign}{open_amount // 100}.{open_amount % 100:02d}",
            draw(st.sampled_from(["", "PO-7", " PO-8 "])),
            paid,
        ]
    )


ODD_CELLS = st.tuples(
    st.sampled_from(["INV-9", "", "  "]),
    st.sampled_from(["C-1", ""]),
    st.sampled_from(["2025-01-31", "20250131", "2025-13-01", "31.01.2025", ""]),
    st.sampled_from(["2025-02-28", "2025-01-01", "x"]),
    st.sampled_from(["EUR", "JPY", "eur", "XXX", ""]),
    st.sampled_from(
        ["100.00", "100", "1.5", "1,50", "0.00", "abc", "100.001", "1234567890123456.00", " 5.00"]
    ),
    st.sampled_from(["0.00", "100", "150.00", "-1.00", ""]),
    st.sampled_from(["", "PO-1"]),
    st.sampled_from(["", "2025-02-15", "2024-01-01", "bad"]),
)
ROW = st.one_of(
    plain_row(),
    plain_row(),
    plain_row(),
    ODD_CELLS.map(",".join),
    st.sampled_from(["", "   ", "INV-5,C-1,2025-01-31,2025-02-28,EUR,10.00,0.00,,,extra", ",,,,,,,,"]),
)


def read(path: Path, *, by_columns: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    """The items per entity code, or the error's message."""
    with monkeypatch.context() as patch:
        patch.setattr(importers, "READ_BLOCK", 2)
        if not by_columns:
            patch.setattr(importers._PlainBlocks, "items", lambda self, block: None)
        try:
            found = importers.read_open_items(path, entity_code=None)
        except InputError as error:
            return str(error)
    return {entity.code: items for entity, items in found.values()}


@pytest.mark.django_db
class TestReadingByColumns:
    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rows=st.lists(ROW, min_size=1, max_size=12))
    def test_gives_the_items_or_the_first_error_of_reading_row_by_row(
        self, rows: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "invoices.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        assert read(path, by_columns=True, monkeypatch=monkeypatch) == read(
            path, by_columns=False, monkeypatch=monkeypatch
        )

    def test_plain_blocks_after_the_first_are_read_by_columns_with_their_row_numbers(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entity: LegalEntity
    ) -> None:
        path = tmp_path / "invoices.csv"
        path.write_text(
            f"{HEADER}\n"
            "A-1,C-1,2025-01-31,2025-02-28,EUR,100.00,40.00,PO-1,2025-02-10\n"
            "A-2,C-1,2025-01-31,2025-02-28,USD,-80.00,0.00,,2025-02-01\n"
            "\n"
            " A-3 , C-2 ,2024-02-29,2024-03-30,EUR,1190.00,1190.00, PO-3 ,\n"
            "A-4,C-2,2024-02-29,2024-02-29,USD,0.01,0.01,,\n"
            "A-5,C-1,2025-01-31,2025-02-28,EUR,-5.00,-5.00,,\n",
            encoding="utf-8",
        )
        by_columns: list[int] = []
        items = importers._PlainBlocks.items

        def counted(plain: importers._PlainBlocks, block: object) -> list[OpenItemIn] | None:
            found = items(plain, block)  # type: ignore[arg-type]
            if found is not None:
                by_columns.extend(item.row for item in found)
            return found

        monkeypatch.setattr(importers._PlainBlocks, "items", counted)
        monkeypatch.setattr(importers, "READ_BLOCK", 2)
        (found,) = importers.read_open_items(path, entity_code=None).values()
        assert found[0] == entity
        # rows 1-2 teach it the currencies, the blank row 3 sends its block row by row
        assert by_columns == [5, 6]
        assert found[1] == [
            OpenItemIn(
                1,
                "A-1",
                "C-1",
                date(2025, 1, 31),
                date(2025, 2, 28),
                "EUR",
                10000,
                4000,
                "PO-1",
                date(2025, 2, 10),
            ),
            OpenItemIn(
                2, "A-2", "C-1", date(2025, 1, 31), date(2025, 2, 28), "USD", -8000, 0, "", date(2025, 2, 1)
            ),
            OpenItemIn(
                4, "A-3", "C-2", date(2024, 2, 29), date(2024, 3, 30), "EUR", 119000, 119000, "PO-3", None
            ),
            OpenItemIn(5, "A-4", "C-2", date(2024, 2, 29), date(2024, 2, 29), "USD", 1, 1, "", None),
            OpenItemIn(6, "A-5", "C-1", date(2025, 1, 31), date(2025, 2, 28), "EUR", -500, -500, "", None),
        ]

    def test_a_bad_row_in_a_plain_block_is_named(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "invoices.csv"
        path.write_text(
            f"{HEADER}\n"
            "A-1,C-1,2025-01-31,2025-02-28,EUR,100.00,40.00,,\n"
            "A-2,C-1,2025-01-31,2025-02-28,EUR,100.00,40.00,,\n"
            "A-3,C-1,2025-01-31,2025-02-28,EUR,100.00,140.00,,\n"
            "A-4,C-1,2025-01-31,2025-01-30,EUR,100.00,40.00,,\n",
            encoding="utf-8",
        )
        monkeypatch.setattr(importers, "READ_BLOCK", 2)
        with pytest.raises(InputError) as refused:
            importers.read_open_items(path, entity_code=None)
        assert str(refused.value) == (
            f"{path}: row 3: open_amount: 140.00 is not between 0 and the amount 100.00"
        )
