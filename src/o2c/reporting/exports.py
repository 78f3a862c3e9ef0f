"""The aging in the shapes it leaves O2C in: machine records (CSV, JSON, the API) and an Excel workbook.

Machine records follow the contract: amounts as locale-free decimal strings with the currency's
decimals, dates ISO 8601. The workbook holds typed numbers and dates: a `Data` sheet with one row per
open item and per unapplied cash balance (ready to pivot: plain column names, an autofilter, a frozen
header) and a formatted `Summary` sheet with one row per customer and currency whose totals are
formulas over its own cells.

The aging's options change the shape only when given: other bucket boundaries (`--buckets`) rename the
bucket columns, a reporting currency adds `"reporting_currency"` to the JSON, deductions (`--deductions`)
add a `deduction` column to the items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from io import BytesIO
from typing import Any

from babel.numbers import format_decimal
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from o2c.core.formatting import minor_to_decimal, money_human
from o2c.core.money import currency_decimals, format_minor
from o2c.reporting import calculations
from o2c.reporting.selectors import BUCKETS, UNAPPLIED, AgingItem, AgingReport, AgingRow, KpiReport

AGING_COLUMNS = ("entity", "customer_number", "currency", *BUCKETS, "unapplied", "total")
DATA_COLUMNS = (
    "entity",
    "customer_number",
    "customer_name",
    "currency",
    "kind",
    "number",
    "issue_date",
    "due_date",
    "days",
    "bucket",
    "amount",
    "disputed",
)


GROUP_COLUMNS = {
    "customer": "customer_number",
    "parent": "parent_number",
    "collector": "collector",
    "entity": "",
    "currency": "",
}
"""The column that names a row's group, per `--group-by` (none when grouped by entity or currency: the
`entity` column and the currency name the row)."""


def aging_columns(group_by: str = "customer", buckets: tuple[str, ...] = BUCKETS) -> list[str]:
    """The CSV columns: the contract's (`AGING_COLUMNS`) with the group's column in place of the customer
    and the report's bucket columns (`AgingReport.bucket_names`)."""
    group = [GROUP_COLUMNS[group_by]] if GROUP_COLUMNS[group_by] else []
    return ["entity", *group, "currency", *buckets, "unapplied", "total"]


def aging_record(row: AgingRow, group_by: str = "customer") -> dict[str, str]:
    """One row of `o2c report aging --format csv|json` and of the API."""
    record = {"entity": row.entity_code}
    if GROUP_COLUMNS[group_by]:
        record[GROUP_COLUMNS[group_by]] = row.customer_number
    record["currency"] = row.currency
    for bucket, minor in row.by_bucket().items():
        record[bucket] = format_minor(minor, row.currency)
    record["unapplied"] = format_minor(row.unapplied_minor, row.currency)
    record["total"] = format_minor(row.total_minor, row.currency)
    return record


def item_record(item: AgingItem, *, deductions: bool = False) -> dict[str, Any]:
    """One open item of the aging's drill-down (API); with `deductions`, its `deduction` too."""
    record = {
        "entity": item.entity_code,
        "customer_number": item.customer_number,
        "currency": item.currency,
        "kind": item.document_type,
        "number": item.number,
        "issue_date": item.issue_date,
        "due_date": item.due_date,
        "days": item.age_days,
        "bucket": item.bucket,
        "amount": format_minor(item.open_minor, item.currency),
        "disputed": item.is_disputed,
    }
    if deductions:
        record["deduction"] = format_minor(item.deduction_minor, item.currency)
    return record


def aging_json(report: AgingReport, group_by: str = "customer") -> dict[str, Any]:
    document: dict[str, Any] = {"as_of": report.as_of.isoformat(), "basis": report.basis}
    if group_by != "customer":
        document["group_by"] = group_by
    if report.reporting_currency:
        document["reporting_currency"] = report.reporting_currency
    document["rows"] = [aging_record(row, group_by) for row in report.rows]
    return document


def bucket_labels(buckets: tuple[str, ...] = BUCKETS) -> dict[str, str]:
    """The column headings people read (translated), by column name: the contract's, and those of
    other bucket boundaries (`31_45`: "31-45 days", `over_90`: "Over 90 days")."""
    labels = {
        "current": _("Current"),
        "1_30": _("1-30 days"),
        "31_60": _("31-60 days"),
        "61_90": _("61-90 days"),
        "91_120": _("91-120 days"),
        "over_120": _("Over 120 days"),
        "unapplied": _("Unapplied"),
        "total": pgettext("aging", "Total"),
    }
    for name in buckets:
        if name in labels:
            continue
        first, _sep, last = name.partition("_")
        labels[name] = (
            _("Over %(days)s days") % {"days": last}
            if first == "over"
            else _("%(first)s-%(last)s days") % {"first": first, "last": last}
        )
    return labels


def _number_format(currency: str) -> str:
    decimals = currency_decimals(currency)
    return f"#,##0.{'0' * decimals}" if decimals else "#,##0"


def _amount(minor: int, currency: str) -> Decimal:
    return minor_to_decimal(minor, currency)


_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
_TOTAL_FONT = Font(bold=True)


def aging_workbook(
    report: AgingReport,
    items: Iterable[AgingItem],
    *,
    entity_names: dict[str, str],
    deductions: bool = False,
    unconverted: AgingReport | None = None,
) -> bytes:
    """The aging as an .xlsx file: `Summary` first (what a person opens it for), then `Data` (with a
    `deduction` column after `disputed` when `deductions`). When `report` is in a reporting currency,
    `unconverted` is the same aging in the documents' currencies: the Data sheet's items and unapplied
    cash stay in their own currencies."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    data = workbook.create_sheet("Data")
    _data_sheet(data, unconverted or report, items, deductions=deductions)
    _summary_sheet(summary, report, entity_names)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _data_sheet(sheet: Any, report: AgingReport, items: Iterable[AgingItem], *, deductions: bool) -> None:
    columns = [*DATA_COLUMNS, "deduction"] if deductions else list(DATA_COLUMNS)
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = _TOTAL_FONT
    for item in items:
        sheet.append(
            [
                item.entity_code,
                item.customer_number,
                item.customer_name,
                item.currency,
                item.document_type,
                item.number,
                item.issue_date,
                item.due_date,
                item.age_days,
                item.bucket,
                _amount(item.open_minor, item.currency),
                item.is_disputed,
                *([_amount(item.deduction_minor, item.currency)] if deductions else []),
            ]
        )
        _format_data_row(sheet, item.currency, deductions=deductions)
    for row in report.rows:
        if row.unapplied_minor:
            sheet.append(
                [
                    row.entity_code,
                    row.customer_number,
                    row.customer_name,
                    row.currency,
                    UNAPPLIED,
                    "",
                    None,
                    None,
                    None,
                    UNAPPLIED,
                    _amount(row.unapplied_minor, row.currency),
                    False,
                    *([_amount(0, row.currency)] if deductions else []),
                ]
            )
            _format_data_row(sheet, row.currency, deductions=deductions)
    last = sheet.max_row
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"
    sheet.freeze_panes = "A2"
    widths = (8, 16, 32, 9, 12, 20, 12, 12, 7, 10, 16, 9, 16)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _format_data_row(sheet: Any, currency: str, *, deductions: bool = False) -> None:
    row = sheet.max_row
    sheet.cell(row=row, column=7).number_format = "yyyy-mm-dd"
    sheet.cell(row=row, column=8).number_format = "yyyy-mm-dd"
    sheet.cell(row=row, column=11).number_format = _number_format(currency)
    if deductions:
        sheet.cell(row=row, column=13).number_format = _number_format(currency)


def _summary_sheet(sheet: Any, report: AgingReport, entity_names: dict[str, str]) -> None:
    buckets = report.bucket_names
    labels = bucket_labels(buckets)
    basis = _("due date") if report.basis == "due" else _("invoice date")
    sheet["A1"] = _("Accounts receivable aging as of %(date)s") % {"date": report.as_of.isoformat()}
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = _("Aged by %(basis)s") % {"basis": basis}
    sheet["A3"] = _("As of")
    sheet["B3"] = report.as_of
    sheet["B3"].number_format = "yyyy-mm-dd"
    sheet["B3"].alignment = Alignment(horizontal="left")
    entities = sorted({row.entity_code for row in report.rows})
    sheet["A4"] = _("Legal entity")
    sheet["B4"] = ", ".join(f"{code} {entity_names.get(code, '')}".strip() for code in entities)
    if report.reporting_currency:
        sheet["A5"] = _("Every amount converted into %(currency)s at the FX rates of %(date)s") % {
            "currency": report.reporting_currency,
            "date": report.as_of.isoformat(),
        }
    header = [
        _("Entity"),
        _("Customer"),
        _("Name"),
        _("Currency"),
        *(labels[bucket] for bucket in buckets),
        labels["unapplied"],
        labels["total"],
    ]
    first_row = 6
    for column, title in enumerate(header, start=1):
        cell = sheet.cell(row=first_row, column=column, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center" if column > 4 else "left", wrap_text=True)
    first_amount, last_amount = 5, 5 + len(buckets)  # bucket columns, then unapplied; total after
    total_column = last_amount + 1
    row_number = first_row
    by_currency: dict[str, list[int]] = {}
    for row in sorted(
        report.rows, key=lambda r: (r.currency, r.entity_code, r.customer_id is None, r.customer_number)
    ):
        row_number += 1
        by_currency.setdefault(row.currency, []).append(row_number)
        values: list[Any] = [
            row.entity_code,
            row.customer_number or _("(not identified)"),
            row.customer_name,
            row.currency,
            *(_amount(minor, row.currency) for minor in row.buckets),
            _amount(row.unapplied_minor, row.currency),
        ]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column, value=value)
            if column >= first_amount:
                cell.number_format = _number_format(row.currency)
        total = sheet.cell(
            row=row_number,
            column=total_column,
            value=f"=SUM({get_column_letter(first_amount)}{row_number}:{get_column_letter(last_amount)}{row_number})",
        )
        total.number_format = _number_format(row.currency)
    for currency, rows in sorted(by_currency.items()):
        row_number += 1
        sheet.cell(
            row=row_number, column=1, value=_("Total %(currency)s") % {"currency": currency}
        ).font = _TOTAL_FONT
        sheet.cell(row=row_number, column=4, value=currency).font = _TOTAL_FONT
        for column in range(first_amount, total_column + 1):
            letter = get_column_letter(column)
            cell = sheet.cell(
                row=row_number, column=column, value=f"=SUM({letter}{rows[0]}:{letter}{rows[-1]})"
            )
            cell.font = _TOTAL_FONT
            cell.number_format = _number_format(currency)
    sheet.freeze_panes = sheet.cell(row=first_row + 1, column=first_amount)
    widths = (8, 16, 32, 9, *([14] * (len(buckets) + 2)))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


# --- KPIs -----------------------------------------------------------------------------------------

KPI_RATIOS = (
    "dso",
    "dso_countback",
    "best_possible_dso",
    "average_days_delinquent",
    "cei",
    "percent_current",
    "percent_over_90",
)
KPI_AMOUNTS = ("unapplied_cash", "disputed_amount")
KPI_KEYS = (*KPI_RATIOS, *KPI_AMOUNTS)


def kpi_values(report: KpiReport) -> dict[str, Decimal | str | int | None]:
    """Each KPI by its contract key: days and percentages rounded to two decimals (None: undefined),
    amounts as decimal strings in the functional currency, counts as integers."""
    kpis = report.kpis
    values: dict[str, Decimal | str | int | None] = {
        key: calculations.rounded(getattr(kpis, key)) for key in KPI_RATIOS
    }
    values["unapplied_cash"] = format_minor(kpis.unapplied_minor, report.currency)
    values["disputed_amount"] = format_minor(kpis.disputed_minor, report.currency)
    values["broken_promises"] = kpis.broken_promises
    values["broken_promises_amount"] = format_minor(kpis.broken_promises_minor, report.currency)
    return values


def _json_value(value: Decimal | str | int | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return format(value, "f")
    return json.dumps(value, ensure_ascii=False)


def kpis_json(report: KpiReport) -> str:
    """`o2c report kpis --format json` and the API's answer: days and percentages are JSON numbers with
    two decimals, written from their Decimal (never through a binary float), null where undefined;
    amounts are decimal strings; `as_of`, `entity` and `currency` first."""
    fields: list[tuple[str, Decimal | str | int | None]] = [
        ("as_of", report.as_of.isoformat()),
        ("entity", report.entity_code),
        ("currency", report.currency),
        *kpi_values(report).items(),
    ]
    body = ",\n".join(f"  {json.dumps(key)}: {_json_value(value)}" for key, value in fields)
    return "{\n" + body + "\n}"


def kpi_labels() -> dict[str, str]:
    return {
        "dso": _("DSO (days)"),
        "dso_countback": _("Countback DSO (days)"),
        "best_possible_dso": _("Best possible DSO (days)"),
        "average_days_delinquent": _("Average days delinquent"),
        "cei": _("Collection effectiveness index (%)"),
        "percent_current": _("Current (% of receivables)"),
        "percent_over_90": _("Over 90 days past due (% of receivables)"),
        "unapplied_cash": _("Unapplied cash"),
        "disputed_amount": _("Disputed amount"),
        "broken_promises": _("Broken promises to pay (this month)"),
        "broken_promises_amount": _("Amount of broken promises (this month)"),
    }


def kpi_lines(report: KpiReport, locale: str) -> list[tuple[str, str]]:
    """The KPIs for people: translated labels, numbers in the reader's locale, '—' where undefined."""
    labels = kpi_labels()
    kpis = report.kpis
    lines = []
    for key in KPI_RATIOS:
        value = calculations.rounded(getattr(kpis, key))
        lines.append(
            (labels[key], "—" if value is None else format_decimal(value, format="#,##0.00", locale=locale))
        )
    lines.append((labels["unapplied_cash"], money_human(kpis.unapplied_minor, report.currency, locale)))
    lines.append((labels["disputed_amount"], money_human(kpis.disputed_minor, report.currency, locale)))
    lines.append((labels["broken_promises"], format_decimal(kpis.broken_promises, locale=locale)))
    lines.append(
        (labels["broken_promises_amount"], money_human(kpis.broken_promises_minor, report.currency, locale))
    )
    return lines
