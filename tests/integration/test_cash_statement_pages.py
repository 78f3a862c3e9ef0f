"""A statement the bank splits over several files (camt pagination) is balanced once every page is in,
in whatever order the pages arrive; a statement marked as a copy of one sent before imports only the
entries not seen yet, and says so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from o2c.bankfiles.detect import read_bank_file
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.cash import services as cash_services
from o2c.cash.models import BankStatement, Payment
from o2c.ledger.models import LegalEntity
from tests.camt_builder import OWN_IBAN, Credit, statement_xml

pytestmark = pytest.mark.django_db

REGISTERED = f"bank account {OWN_IBAN} (EUR) was not known: registered for MAIN"


def _import(entity: LegalEntity, data: bytes, now: datetime, name: str) -> Any:
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


def _page(number: int, last: bool, credits: list[Credit], **balances: Any) -> bytes:
    return statement_xml(
        credits, statement_id="STMT-9", message_id=f"MSG-9-{number}", page=(number, last), **balances
    )


def _warnings(result: Any) -> list[str]:
    return [warning for warning in result.warnings if warning != REGISTERED]


def test_pages_arriving_out_of_order_are_balanced_when_the_last_missing_one_comes(
    entity: LegalEntity, now: datetime
) -> None:
    first = _page(1, False, [Credit("100.00", "P1-1", text="a")], opening="1000.00", with_closing=False)
    third = _page(3, True, [Credit("200.00", "P3-1", text="c")], opening=None, closing="1350.00")
    second = _page(2, False, [Credit("50.00", "P2-1", text="b")], opening=None, with_closing=False)

    after_first = _import(entity, first, now, "page1.xml")
    after_third = _import(entity, third, now, "page3.xml")
    after_second = _import(entity, second, now, "page2.xml")

    assert _warnings(after_first) == []
    assert _warnings(after_third) == [
        "statement STMT-9: page 2 of 3 not imported yet; the balance is checked when every page is in"
    ]
    assert _warnings(after_second) == []
    pages = BankStatement.objects.filter(statement_id="STMT-9").order_by("page_number")
    assert [(p.page_number, p.last_page, p.entries_minor, p.difference_minor) for p in pages] == [
        (1, False, 10000, None),
        (2, False, 5000, None),
        (3, True, 20000, 0),
    ]
    assert Payment.objects.count() == 3


def test_pages_that_do_not_add_up_to_the_last_pages_closing_balance_are_imported_with_a_warning(
    entity: LegalEntity, now: datetime
) -> None:
    _import(
        entity,
        _page(1, False, [Credit("100.00", "P1-1", text="a")], opening="1000.00", with_closing=False),
        now,
        "page1.xml",
    )
    last = _import(
        entity,
        _page(2, True, [Credit("50.00", "P2-1", text="b")], opening=None, closing="1160.00"),
        now,
        "page2.xml",
    )

    assert _warnings(last) == [
        "statement STMT-9 (pages 1 to 2): opening balance plus entries differs from the closing balance by "
        "10.00 EUR"
    ]
    assert BankStatement.objects.get(statement_id="STMT-9", page_number=2).difference_minor == 1000
    assert Payment.objects.count() == 2


def test_a_duplicate_statement_imports_only_the_entries_not_seen_and_says_how_many_were(
    entity: LegalEntity, now: datetime
) -> None:
    original = [Credit("10.00", "R1", text="a"), Credit("20.00", "R2", text="b")]
    _import(entity, statement_xml(original), now, "original.xml")

    duplicate = _import(
        entity,
        statement_xml(
            [*original, Credit("30.00", "R3", text="c")], message_id="MSG-2", copy_indicator="DUPL"
        ),
        now,
        "duplicate.xml",
    )

    assert _warnings(duplicate) == [
        "statement STMT-1 is marked DUPL (a copy of one sent before): 2 of its entries were imported before "
        "and are skipped, the others imported"
    ]
    assert (duplicate.payments, duplicate.duplicates) == (1, 2)
    assert sorted(Payment.objects.values_list("amount_minor", flat=True)) == [1000, 2000, 3000]
    assert BankStatement.objects.filter(copy_indicator="DUPL").count() == 1


def test_a_copy_of_a_page_does_not_stand_in_for_the_page_in_the_balance_check(
    entity: LegalEntity, now: datetime
) -> None:
    page_one = _page(1, False, [Credit("100.00", "P1-1", text="a")], opening="1000.00", with_closing=False)
    copy = statement_xml(
        [Credit("100.00", "P1-1", text="a")],
        statement_id="STMT-9",
        message_id="MSG-9-1-copy",
        page=(1, False),
        opening="1000.00",
        with_closing=False,
        copy_indicator="CODU",
    )
    _import(entity, copy, now, "page1-copy.xml")
    last = _import(
        entity,
        _page(2, True, [Credit("50.00", "P2-1", text="b")], opening=None, closing="1150.00"),
        now,
        "page2.xml",
    )
    assert _warnings(last) == [
        "statement STMT-9: page 1 of 2 not imported yet; the balance is checked when every page is in"
    ]

    completed = _import(entity, page_one, now, "page1.xml")

    assert (completed.payments, completed.duplicates) == (0, 1)
    assert _warnings(completed) == []
    assert BankStatement.objects.get(statement_id="STMT-9", page_number=2).difference_minor == 0


def test_the_page_number_comes_from_the_message_when_the_statement_does_not_give_it() -> None:
    data = statement_xml([Credit("10.00", "R1")]).replace(
        b"</GrpHdr>", b"<MsgPgntn><PgNb>4</PgNb><LastPgInd>false</LastPgInd></MsgPgntn></GrpHdr>"
    )

    _, (statement,) = read_bank_file(data, source="paged.xml")

    assert (statement.page_number, statement.last_page, statement.copy_indicator) == (4, False, None)


def test_an_unknown_copy_indicator_or_page_number_is_refused_with_where_and_why() -> None:
    bad_copy = statement_xml([Credit("10.00", "R1")], copy_indicator="XXXX")
    bad_page = statement_xml([Credit("10.00", "R1")], page=(1, True)).replace(
        b"<PgNb>1</PgNb>", b"<PgNb>first</PgNb>"
    )

    with pytest.raises(
        UnableToReadBankFile, match=r"statement 1: CpyDplctInd 'XXXX' is not CODU, COPY or DUPL"
    ):
        read_bank_file(bad_copy, source="copy.xml")
    with pytest.raises(
        UnableToReadBankFile, match=r"statement 1: pagination PgNb 'first' is not a page number"
    ):
        read_bank_file(bad_page, source="page.xml")
