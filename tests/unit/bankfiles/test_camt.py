"""The camt.053/054 parser against public sample files, their XML Schemas and hostile XML. No database."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from o2c.bankfiles import camt
from o2c.bankfiles.camt import Entry, Statement, balance_difference, parse_camt
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.core.money import to_minor

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "camt"
SCHEMAS = SAMPLES.parent / "camt-xsd"
GENKGO = SAMPLES / "genkgo"
STUZZA = SAMPLES / "viafintech_053_valid_example_stuzza.xml"

if not GENKGO.is_dir():
    pytest.skip(
        f"camt sample files not found at {SAMPLES} (shared/testdata beside the repo)", allow_module_level=True
    )

# camt052.v1 is camt.052.001.01: below the versions we read (.001.02 to .001.08), refused on purpose.
REFUSED_SAMPLES = {
    "camt052.v1.xml": "camt.052.001.01 is not supported",
    "camt053.v2.wrong.xml": "has no Stmt",
}
COMPARED = sorted(
    path
    for path in GENKGO.glob("*.xml")
    if path.with_suffix(".json").exists() and path.name not in REFUSED_SAMPLES
)
# The genkgo balance type names for the ISO codes.
GENKGO_BALANCE_TYPES = {
    "OPBD": "opening",
    "PRCD": "opening",
    "OPAV": "opening_available",
    "CLBD": "closing",
    "CLAV": "closing_available",
    "FWAV": "forward_available",
    "INFO": "information",
    "ITAV": "interim_available",
    "ITBD": "interim",
    "XPCD": "expected_credit",
}
MARKER = "__RECURSIVITY__"


def _parse(path: Path) -> list[Statement]:
    return parse_camt(path.read_bytes(), source=path.name, accept_reports=True)


# --- mapping the genkgo JSON dumps onto our model ---
# The dumps replace an object already printed by "__RECURSIVITY__"; keys are printed in alphabetical
# order, so a list `getXs` whose first item is a marker repeats its singular sibling `getX`.


def _item(container: dict[str, Any], plural: str, index: int) -> dict[str, Any]:
    value = container[plural][index]
    if value == MARKER:
        assert index == 0, f"cannot resolve {plural}[{index}]"
        value = container[plural[:-1]]
    assert isinstance(value, dict)
    return value


def _items(container: dict[str, Any] | None, plural: str) -> list[dict[str, Any]]:
    if not container or not container.get(plural):
        return []
    return [_item(container, plural, index) for index in range(len(container[plural]))]


def _money(value: dict[str, Any] | None) -> tuple[int, str] | None:
    if value is None:
        return None
    return int(value["getAmount"]), value["getCurrency"]["getCode"]


def _ours(amount: Decimal | None, currency: str | None) -> tuple[int, str] | None:
    return None if amount is None or currency is None else (to_minor(amount, currency), currency)


def _instant(value: dict[str, Any] | None) -> datetime | None:
    return datetime.fromisoformat(value["0"]) if value else None


def _as_utc_instant(moment: datetime | None, day: date | None) -> datetime | None:
    """genkgo turns a date into midnight UTC and reads a time without offset as UTC."""
    if moment is not None:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _domain_code(code: dict[str, Any] | None) -> str | None:
    domain = (code or {}).get("getDomain")
    if not domain:
        return None
    family = domain.get("getFamily") or {}
    parts = [domain.get("getCode"), family.get("getCode"), family.get("getSubFamilyCode")]
    return "-".join(part for part in parts if part) or None


def _proprietary_code(code: dict[str, Any] | None) -> str | None:
    proprietary = (code or {}).get("getProprietary")
    return proprietary.get("getCode") if proprietary else None


def _party(detail: dict[str, Any], kind: str) -> tuple[str | None, str | None]:
    for party in _items(detail, "getRelatedParties"):
        party_type = party["getRelatedPartyType"]
        if party_type["__CLASS__"].endswith("\\" + kind):
            account = party.get("getAccount") or {}
            iban = (account.get("getIban") or {}).get("getIban")
            return party_type.get("getName"), iban
    return None, None


def _remittance(detail: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    info = detail.get("getRemittanceInformation")
    unstructured = tuple(block["getMessage"] for block in _items(info, "getUnstructuredBlocks"))
    refs = []
    for block in _items(info, "getStructuredBlocks"):
        reference = block.get("getCreditorReferenceInformation")
        if reference == MARKER:
            assert info is not None
            reference = info["getCreditorReferenceInformation"]
        if reference and reference.get("getRef"):
            refs.append(reference["getRef"])
    return unstructured, tuple(refs)


def _compare_statement(ours: Statement, record: dict[str, Any]) -> None:
    assert ours.statement_id == record["getId"]
    account = record["getAccount"]
    if account["__CLASS__"].endswith("\\IbanAccount"):
        assert ours.account_iban == account["getIban"]["getIban"]
    else:
        assert ours.account_other_id == account["getIdentification"]
    assert _as_utc_instant(ours.created_at, None) == _instant(record.get("getCreatedOn"))
    expected_balances = [
        (
            balance["getType"],
            _money(balance["getAmount"]),
            datetime.fromisoformat(balance["getDate"]["0"]).date(),
        )
        for balance in _items(record, "getBalances")
    ]
    actual_balances = [
        (
            GENKGO_BALANCE_TYPES.get(balance.code),
            _ours(balance.amount, balance.currency),
            balance.balance_date,
        )
        for balance in ours.balances
    ]
    assert actual_balances == expected_balances


def _compare_entry(ours: Entry, expected: dict[str, Any]) -> None:
    assert _ours(ours.amount, ours.currency) == _money(expected["getAmount"])
    assert ("CRDT" if ours.amount >= 0 else "DBIT") == expected["getCreditDebitIndicator"]
    assert _as_utc_instant(ours.booked_at, ours.booking_date) == _instant(expected.get("getBookingDate"))
    assert _as_utc_instant(None, ours.value_date) == _instant(expected.get("getValueDate"))
    assert ours.bank_reference == expected["getAccountServicerReference"]
    assert ours.entry_reference == expected["getReference"]
    assert ours.is_reversal is expected["getReversalIndicator"]
    assert ours.status == expected["getStatus"]
    assert ours.bank_transaction_code == _domain_code(expected["getBankTransactionCode"])
    assert ours.proprietary_bank_transaction_code == _proprietary_code(expected["getBankTransactionCode"])
    expected_details = _items(expected, "getTransactionDetails")
    assert len(ours.details) == len(expected_details)
    for detail, want in zip(ours.details, expected_details, strict=True):
        reference = want.get("getReference") or {}
        assert detail.end_to_end_id == reference.get("getEndToEndId")
        assert detail.bank_reference == reference.get("getAccountServicerReference")
        # genkgo signs a transaction by its entry, we by the transaction's own CdtDbtInd: in these samples
        # debit entries hold transactions marked CRDT, so only the unsigned amounts can agree.
        expected_amount = _money(want.get("getAmount"))
        assert _ours(detail.amount, detail.currency) == expected_amount or (
            detail.amount is not None
            and _ours(-detail.amount, detail.currency) == expected_amount
            and detail.is_credit != (ours.amount >= 0)
        )
        counterparty = "Debtor" if detail.is_credit else "Creditor"
        assert (detail.counterparty_name, detail.counterparty_iban) == _party(want, counterparty)
        assert (detail.remittance_unstructured, detail.remittance_structured_refs) == _remittance(want)


class TestGenkgoSamples:
    def test_every_sample_with_an_expected_parse_is_compared(self):
        with_json = {path.name for path in GENKGO.glob("*.xml") if path.with_suffix(".json").exists()}
        assert len(COMPARED) == 24
        assert with_json == {path.name for path in COMPARED} | {"camt052.v1.xml"}

    @pytest.mark.parametrize("path", COMPARED, ids=lambda path: path.name)
    def test_parse_matches_the_expected_parse(self, path: Path):
        expected = json.loads(path.with_suffix(".json").read_text())

        statements = _parse(path)

        assert len(statements) == len(expected["getRecords"])
        by_id = {statement.statement_id: statement for statement in statements}
        records = [entry["getRecord"] for entry in expected["getEntries"]]
        records += [record for record in expected["getRecords"] if record != MARKER]
        assert records, "the dump shows no statement to compare"
        for record in records:
            statement = by_id[record["getId"]]
            _compare_statement(statement, record)
            assert len(statement.entries) == len(record["getEntries"])
        for entry in expected["getEntries"]:
            statement = by_id[entry["getRecord"]["getId"]]
            _compare_entry(statement.entries[entry["getIndex"]], entry)

    @pytest.mark.parametrize(("name", "problem"), sorted(REFUSED_SAMPLES.items()))
    def test_a_sample_we_do_not_read_is_refused_in_one_line_naming_the_file(self, name: str, problem: str):
        with pytest.raises(UnableToReadBankFile) as refused:
            _parse(GENKGO / name)

        assert str(refused.value).startswith(f"{name}: ")
        assert problem in str(refused.value)
        assert "\n" not in str(refused.value)

    def test_the_invalid_sample_names_the_file_and_what_is_missing(self):
        with pytest.raises(UnableToReadBankFile) as refused:
            _parse(GENKGO / "camt053.v2.wrong.xml")

        assert str(refused.value) == "camt053.v2.wrong.xml: BkToCstmrStmt has no Stmt"
        assert refused.value.code == "bad_bank_file"

    def test_a_multi_statement_file_numbers_entries_across_statements(self):
        statements = _parse(GENKGO / "camt053.v2.multi.statement.xml")

        assert [statement.statement_id for statement in statements] == [
            "253EURNL26VAYB8060476890",
            "254EURNL26VAYB8060476890",
        ]
        assert [entry.position for entry in camt.iter_entries(statements)] == [1, 2]
        assert [entry.amount for entry in camt.iter_entries(statements)] == [
            Decimal("8.85"),
            Decimal("-7.00"),
        ]
        assert [balance_difference(statement) for statement in statements] == [Decimal(0), Decimal(0)]

    def test_a_batch_notification_keeps_each_transaction(self):
        (notification,) = _parse(GENKGO / "camt054.v8.xml")
        (entry,) = notification.entries

        assert (notification.message, notification.version) == ("camt.054", 8)
        assert entry.amount == Decimal("-200000")
        assert entry.batch_count == 2
        assert [detail.end_to_end_id for detail in entry.details] == [
            "UXC06170000006PI00001EE00001",
            "UXC06170000006PI00001EE00002",
            "UXC06170000006PI00001EE00002",
        ]
        # The sample marks its transactions CRDT inside a DBIT entry: each keeps its own direction.
        assert [detail.amount for detail in entry.details] == [Decimal("3.1"), Decimal("3.2"), Decimal("3.2")]
        assert [detail.counterparty_name for detail in entry.details] == ["UNIFITS GmbH"] * 3
        assert entry.end_to_end_id is None
        assert entry.remittance_structured_refs == (
            "ISR ref number V1",
            "ISR ref number V2",
            "Ref number V3 block 1",
            "Ref number V3 block 2",
        )

    def test_an_amount_with_five_decimals_keeps_them_exactly(self):
        (statement,) = _parse(GENKGO / "camt053.v2.five.decimals.xml")

        assert statement.closing_balance == Decimal("27.050")
        assert statement.entries[0].amount == Decimal("8.850")
        assert balance_difference(statement) == Decimal("0.05")

    def test_balances_in_another_currency_than_the_entries_give_no_difference(self):
        (statement,) = _parse(GENKGO / "camt053.v2.minimal.xml")

        assert statement.opening_balance == Decimal("18.15")
        assert statement.closing_balance == Decimal("-27.00")
        assert balance_difference(statement) is None

    def test_a_camt052_report_is_refused_unless_asked_for(self):
        path = GENKGO / "camt052.v8.xml"

        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(path.read_bytes(), source=path.name)

        assert str(refused.value) == (
            "camt052.v8.xml: camt.052 account reports are not imported (intraday, not final): "
            "import the camt.053"
        )
        assert refused.value.code == "unsupported_bank_file"


class TestStuzzaSample:
    def test_the_austrian_variant_parses_and_balances(self):
        (statement,) = _parse(STUZZA)

        assert (statement.message, statement.version) == ("camt.053", 2)
        assert statement.namespace == "ISO:camt.053.001.02:APC:STUZZA:payments:003"
        assert statement.account_iban == "AT021200000703447144"
        assert (statement.opening_balance, statement.closing_balance) == (
            Decimal("150.00"),
            Decimal("550.00"),
        )
        assert [entry.amount for entry in statement.entries] == [
            Decimal("50.00"),
            Decimal("100.00"),
            Decimal("250.00"),
        ]
        assert [entry.bank_reference for entry in statement.entries] == [
            "2013122710583450000",
            "190602382152396",
            "190602382098886",
        ]
        assert [entry.remittance_structured_refs for entry in statement.entries] == [
            ("201912341234",),
            ("201912341234",),
            ("2019456456",),
        ]
        assert statement.entries[0].counterparty_name == "Musterfrau Muster"
        assert statement.entries[0].counterparty_iban == "AT022050303300646365"
        assert statement.entries[0].bank_transaction_code == "PMNT-RCDT-ESCT"
        assert statement.entries[0].booking_date == date(2019, 3, 1)
        assert balance_difference(statement) == 0


def _schema_cases() -> list[Any]:
    cases = []
    for path in sorted(GENKGO.glob("*.xml")):
        namespace = etree.QName(etree.parse(path).getroot()).namespace or ""
        version = re.search(r"camt\.05\d\.001\.\d\d", namespace)
        xsd = SCHEMAS / f"{version.group(0)}.xsd" if version else None
        if xsd is not None and xsd.exists():
            cases.append(pytest.param(path, xsd, id=path.name))
    return cases


@pytest.mark.skipif(not SCHEMAS.is_dir(), reason=f"camt XML Schemas not found at {SCHEMAS}")
class TestSchemaValidity:
    def test_every_version_present_has_a_schema_checked_sample(self):
        versions = {xsd.stem for _, xsd in (case.values for case in _schema_cases())}
        assert {"camt.053.001.02", "camt.053.001.03", "camt.053.001.04", "camt.053.001.08"} <= versions
        assert {"camt.054.001.02", "camt.054.001.04", "camt.054.001.08"} <= versions
        assert {"camt.052.001.02", "camt.052.001.04", "camt.052.001.06", "camt.052.001.08"} <= versions

    @pytest.mark.parametrize(("path", "xsd"), _schema_cases())
    def test_an_accepted_sample_is_schema_valid(self, path: Path, xsd: Path):
        if path.name in REFUSED_SAMPLES and path.name != "camt052.v1.xml":
            pytest.skip(f"{path.name} is invalid on purpose (SOURCES.txt); the parser refuses it too")
        schema = etree.XMLSchema(etree.parse(xsd))

        assert schema.validate(etree.parse(path)), str(schema.error_log)

    def test_the_invalid_sample_is_also_rejected_by_its_schema(self):
        schema = etree.XMLSchema(etree.parse(SCHEMAS / "camt.053.001.02.xsd"))

        assert not schema.validate(etree.parse(GENKGO / "camt053.v2.wrong.xml"))


NS053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _statement_xml(entry: str = "", *, namespace: str = NS053, prolog: str = "") -> bytes:
    default_entry = (
        "<Ntry><Amt Ccy='EUR'>10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
        "<BookgDt><Dt>2026-03-02</Dt></BookgDt></Ntry>"
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?>{prolog}"
        f"<Document xmlns='{namespace}'><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId>"
        "<CreDtTm>2026-03-02T18:00:00+01:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
        f"{default_entry}{entry}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


class TestRefusals:
    def test_a_minimal_statement_parses(self):
        (statement,) = parse_camt(_statement_xml(), source="statement.xml")

        assert statement.message_id == "M1"
        assert statement.entries[0].amount == Decimal("10.00")
        assert statement.entries[0].booking_date == date(2026, 3, 2)
        assert balance_difference(statement) is None

    @pytest.mark.parametrize(
        ("entry", "message"),
        [
            (
                "<Ntry><Amt>5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>",
                "statement.xml: entry 2: Amt has no Ccy",
            ),
            ("<Ntry><CdtDbtInd>CRDT</CdtDbtInd></Ntry>", "statement.xml: entry 2: Amt is missing"),
            (
                "<Ntry><Amt Ccy='EUR'>5,00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>",
                "statement.xml: entry 2: Amt '5,00' is not an amount",
            ),
            (
                "<Ntry><Amt Ccy='EUR'>-5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>",
                "statement.xml: entry 2: Amt '-5.00' is not an amount",
            ),
            (
                "<Ntry><Amt Ccy='EUR'>5.001</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>",
                "statement.xml: entry 2: Amt '5.001' has more decimals than EUR allows (2)",
            ),
            (
                "<Ntry><Amt Ccy='EUR'>5.00</Amt><CdtDbtInd>CRDIT</CdtDbtInd></Ntry>",
                "statement.xml: entry 2: CdtDbtInd 'CRDIT' is neither CRDT nor DBIT",
            ),
            (
                "<Ntry><Amt Ccy='EUR'>5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>"
                "<BookgDt><Dt>2026-02-30</Dt></BookgDt></Ntry>",
                "statement.xml: entry 2: BookgDt/Dt '2026-02-30' is not a date",
            ),
        ],
    )
    def test_a_bad_entry_is_refused_naming_file_entry_and_problem(self, entry: str, message: str):
        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(_statement_xml(entry), source="statement.xml")

        assert str(refused.value) == message

    def test_a_document_that_is_not_camt_is_refused(self):
        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(b"<Foo><Bar/></Foo>", source="statement.xml")

        assert str(refused.value) == "statement.xml: not a camt.053/054 document (root element Foo)"

    def test_a_version_outside_02_to_08_is_refused(self):
        data = _statement_xml(namespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.09")

        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(data, source="statement.xml")

        assert str(refused.value) == (
            "statement.xml: camt.053.001.09 is not supported (versions .001.02 to .001.08 are read)"
        )

    def test_malformed_xml_is_refused_in_one_line(self):
        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(b"<Document><BkToCstmrStmt></Document>", source="statement.xml")

        assert str(refused.value).startswith("statement.xml: not well-formed XML: ")
        assert "\n" not in str(refused.value)


BOMB = (
    '<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


class TestHostileXml:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
    def test_an_entity_expansion_bomb_is_refused(self, encoding: str):
        document = _statement_xml().decode().replace("<MsgId>M1</MsgId>", "<MsgId>&d;</MsgId>")
        document = document.replace("?>", "?>" + BOMB, 1).replace("UTF-8", encoding.upper())

        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(document.encode(encoding), source="bomb.xml")

        assert str(refused.value) == "bomb.xml: a DOCTYPE or entity declaration is not allowed in a bank file"
        assert refused.value.code == "unsafe_xml"

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
    def test_an_external_entity_is_refused_and_nothing_is_read_from_disk(self, tmp_path: Path, encoding: str):
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-CANARY")
        # An access time before the modification time is updated by any read, even on relatime mounts.
        os.utime(secret, (0, secret.stat().st_mtime))
        targets = [secret.as_uri(), "file:///etc/passwd"]
        for target in targets:
            prolog = f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "{target}">]>'
            document = (
                _statement_xml(prolog=prolog).decode().replace("<MsgId>M1</MsgId>", "<MsgId>&xxe;</MsgId>")
            )
            document = document.replace("UTF-8", encoding.upper())

            with pytest.raises(UnableToReadBankFile) as refused:
                parse_camt(document.encode(encoding), source="xxe.xml")

            assert refused.value.code == "unsafe_xml"
            assert "CANARY" not in str(refused.value)
            assert "root:" not in str(refused.value)
        assert secret.stat().st_atime == 0

    def test_the_parser_itself_does_not_resolve_entities(self, tmp_path: Path):
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-CANARY")
        document = (
            f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{secret.as_uri()}"><!ENTITY i "INTERNAL">]><r>&xxe;&i;</r>'
        ).encode()

        root = etree.fromstring(document, parser=camt.safe_xml_parser())

        serialised = etree.tostring(root)
        assert b"CANARY" not in serialised
        assert b"INTERNAL" not in serialised

    def test_a_file_over_the_size_limit_is_refused_before_parsing(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(camt, "MAX_FILE_BYTES", 100)

        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(_statement_xml(), source="big.xml")

        assert refused.value.code == "unsafe_xml"
        assert (
            str(refused.value)
            == f"big.xml: the file has {len(_statement_xml())} bytes, over the limit of 100"
        )
