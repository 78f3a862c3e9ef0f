"""Reading the CSV files of the public contract: UTF-8 (BOM accepted), a header row, columns in any
order, extra columns ignored. Errors name the file, `row N` (1-based, header not counted) and column."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from o2c.core.exceptions import InputError

MAX_FIELD = 10_000


@dataclass(frozen=True)
class Row:
    """One data row with its 1-based number, read by column name."""

    file: str
    number: int
    values: dict[str, str]

    def text(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            raise self.error(column, "is empty")
        return value

    def error(self, column: str | None, problem: str, code: str = "bad_input") -> InputError:
        return InputError(problem, file=self.file, row=self.number, column=column, code=code)

    def date(self, column: str, *, optional: bool = False) -> date | None:
        value = self.text(column)
        if not value:
            if optional:
                return None
            raise self.error(column, "is empty")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.error(column, f"'{value}' is not an ISO 8601 date (YYYY-MM-DD)") from None

    def decimal(self, column: str, *, optional: bool = False) -> Decimal | None:
        value = self.text(column)
        if not value:
            if optional:
                return None
            raise self.error(column, "is empty")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.error(column, f"'{value}' is not a decimal number") from None
        if not number.is_finite():
            raise self.error(column, f"'{value}' is not a decimal number")
        return number


def read_rows(path: Path, *, required: tuple[str, ...]) -> Iterator[Row]:
    """Yield rows; raise InputError for an unreadable, empty, non-UTF-8 or header-less file."""
    header, records = read_table(path, required=required)
    name = str(path)
    for number, cells in records:
        yield Row(file=name, number=number, values=dict(zip(header, cells, strict=False)))


def read_table(path: Path, *, required: tuple[str, ...]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the data rows as (row number, cells), with the checks of `read_rows`; for importers
    that read large files column by position (a `Row` per record costs more than parsing the record)."""
    header, blocks = read_blocks(path, required=required)
    name, width = str(path), len(header)
    return header, (record for block in blocks for record in records(block, file=name, width=width))


@dataclass(frozen=True)
class Block:
    """Consecutive records as the CSV reader gives them, not checked yet; `first` is the number of the
    first (the header is row 0)."""

    first: int
    rows: list[list[str]]


def read_blocks(
    path: Path, *, required: tuple[str, ...], size: int = 50_000
) -> tuple[list[str], Iterator[Block]]:
    """The header and the records in blocks of `size`, for importers that check a million rows a column
    at a time; `records(block)` gives a block's rows with the checks of `read_rows`, a row at a time."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror})", file=name, code="unreadable") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(
            f"line {line}: the file is not UTF-8 (byte 0x{raw[error.start]:02x}); save it as UTF-8",
            file=name,
            code="bad_encoding",
        ) from None
    del raw
    if not text.strip():
        raise InputError("the file is empty; a header row is required", file=name, code="empty_file")
    reader = csv.reader(_lines(text))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except csv.Error as error:
        raise InputError(f"the header row is not valid CSV ({error})", file=name) from None
    missing = [column for column in required if column not in header]
    if missing:
        raise InputError(
            f"the header lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            file=name,
            code="missing_column",
        )
    return header, _blocks(reader, name, size)


def _lines(text: str) -> Iterable[str]:
    """The lines of the text with their endings (\\n, \\r\\n or \\r), as csv.reader wants them; unlike
    io.StringIO, without a copy of the whole text at four bytes a character. `str.splitlines` is the
    fast way, but it also splits at the form feeds and separators of `_OTHER_BREAKS`, which a quoted
    field may hold: a text with any of them is split by a regular expression instead."""
    if any(separator in text for separator in _OTHER_BREAKS):
        return (match.group() for match in _LINE.finditer(text))
    return text.splitlines(keepends=True)


_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _blocks(reader: Iterator[list[str]], name: str, size: int) -> Iterator[Block]:
    first, rows = 1, []
    failure = None
    try:
        for cells in reader:
            rows.append(cells)
            if len(rows) == size:
                yield Block(first, rows)
                first, rows = first + size, []
    except csv.Error as error:
        failure = InputError(f"is not valid CSV ({error})", file=name, row=first + len(rows))
    if rows:  # the rows before a broken one come first: an earlier row's error takes precedence
        yield Block(first, rows)
    if failure is not None:
        raise failure


def records(block: Block, *, file: str, width: int) -> Iterator[tuple[int, list[str]]]:
    """The block's rows as (row number, cells): blank rows skipped, a row with more values than the
    header or an overlong field refused."""
    for number, cells in enumerate(block.rows, start=block.first):
        joined = "".join(cells)
        if not joined or joined.isspace():
            continue
        if len(cells) > width:
            extra = cells[width:]
            if any(cell.strip() for cell in extra):
                raise InputError(f"has {len(cells)} fields but the header has {width}", file=file, row=number)
        if len(joined) > MAX_FIELD and max(map(len, cells)) > MAX_FIELD:
            raise InputError(f"a field is longer than {MAX_FIELD} characters", file=file, row=number)
        yield number, cells
