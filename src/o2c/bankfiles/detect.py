"""Tell a bank file's format from its first bytes and read it with the right reader."""

from __future__ import annotations

from o2c.bankfiles import camt, csvformats
from o2c.bankfiles.bai2 import parse_bai2
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.mt940 import parse_mt940
from o2c.bankfiles.statement import Statement


def detect_format(data: bytes, *, source: str) -> str:
    """camt, bai2, mt940, lockbox, card_payout; refuses what it does not know."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        return "camt"
    if head.startswith(b"01,"):
        return "bai2"
    if b":20:" in head and (b":25:" in head or b":60F:" in head or head.startswith(b"{1:")):
        return "mt940"
    first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    columns = {column.strip().strip('"') for column in first_line.replace(";", ",").split(",")}
    if {"check_number", "amount"} <= columns and ("lockbox" in columns or "batch" in columns):
        return "lockbox"
    if "payout_id" in columns and "reporting_category" in columns:
        return "card_payout"
    raise UnableToReadBankFile(
        "not a bank file O2C reads (camt.053/054, BAI2, MT940, lockbox CSV, card payout CSV)",
        source=source,
        code="unsupported_bank_file",
    )


def read_bank_file(data: bytes, *, source: str) -> tuple[str, list[Statement]]:
    """The file's format (camt.053, camt.054, bai2, mt940, lockbox, card_payout) and its statements."""
    file_format = detect_format(data, source=source)
    if file_format == "camt":
        statements = camt.parse_camt(data, source=source)
        return (statements[0].message if statements else "camt", statements)
    if file_format == "bai2":
        return file_format, parse_bai2(data, source=source)
    if file_format == "mt940":
        return file_format, parse_mt940(data, source=source)
    if file_format == "lockbox":
        return file_format, csvformats.parse_lockbox_csv(data, source=source)
    return file_format, csvformats.parse_card_payouts_csv(data, source=source)
