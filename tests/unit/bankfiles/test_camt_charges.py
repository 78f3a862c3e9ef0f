"""camt charges (`Chrgs`) and the underlying amount (`AmtDtls`): what a return's fee is read from.

Chrgs changed shape over the versions: .001.02 repeats `Chrgs` with `Amt` and `CdtDbtInd` in each; from
.001.03 a `Chrgs` holds `TtlChrgsAndTaxAmt` and `Rcrd`s; from .001.04 a record says with `ChrgInclInd`
whether the charge is in the entry's amount."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from o2c.bankfiles.camt import parse_camt
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import Charge
from tests.camt_builder import Credit, statement_xml

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "camt"
SCHEMAS = SAMPLES.parent / "camt-xsd"

RETURNED = Credit(
    "1003.50",
    "RET-1",
    iban="DE02120300000000202051",
    end_to_end="E2E-DD-1",
    debit=True,
    return_reason="AM04",
    bank_code="PMNT-IDDT-UPDD",
    original_amount="1000.00",
    charges=("3.50",),
    charges_included=True,
)


COMMISSION = '<Chrgs><Amt Ccy="EUR">3.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Tp><Cd>COMM</Cd></Tp></Chrgs>'


def _file(credit: Credit) -> bytes:
    return statement_xml([credit], opening="5000.00")


def _02(entry_charges: str = "", transaction: str = "") -> bytes:
    """A camt.053.001.02 statement with one debit entry of 1,003.50 EUR and the given charge blocks."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-24T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2026-03-24T18:00:00</CreDtTm>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">5000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-03-24</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">3996.50</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-03-24</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">1003.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-03-24</Dt></BookgDt><ValDt><Dt>2026-03-24</Dt></ValDt><AcctSvcrRef>RET-1</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
{entry_charges}
<NtryDtls><TxDtls><Refs><EndToEndId>E2E-DD-1</EndToEndId></Refs>
<AmtDtls><InstdAmt><Amt Ccy="EUR">1000.00</Amt></InstdAmt>
<TxAmt><Amt Ccy="EUR">1003.50</Amt></TxAmt></AmtDtls>
{transaction}
<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode()


class TestCharges:
    def test_a_returns_charge_and_original_amount_are_read(self) -> None:
        [statement] = parse_camt(_file(RETURNED), source="return.xml")
        [entry] = statement.entries
        [details] = entry.details

        assert (entry.amount, entry.charges) == (Decimal("-1003.50"), ())
        assert details.charges == (Charge(amount=Decimal("-3.50"), currency="EUR", included=True),)
        assert (details.original_amount, details.return_reason) == (Decimal("1000.00"), "AM04")

    def test_charges_on_the_entry_are_the_entrys(self) -> None:
        credit = Credit("1003.50", debit=True, entry_charges=("2.00", "1.50"), charges_included=False)

        [statement] = parse_camt(_file(credit), source="return.xml")
        [entry] = statement.entries

        assert entry.charges == (
            Charge(amount=Decimal("-2.00"), currency="EUR", included=False),
            Charge(amount=Decimal("-1.50"), currency="EUR", included=False),
        )
        assert (entry.details[0].charges, entry.details[0].original_amount) == ((), None)

    @pytest.mark.skipif(not SCHEMAS.is_dir(), reason=f"camt XML Schemas not found at {SCHEMAS}")
    def test_the_built_return_is_schema_valid(self) -> None:
        schema = etree.XMLSchema(etree.parse(SCHEMAS / "camt.053.001.08.xsd"))
        credit = Credit(
            "1003.50",
            "RET-1",
            name="Mueller Maschinenbau",
            iban="DE02120300000000202051",
            debit=True,
            return_reason="AM04",
            original_amount="1000.00",
            charges=("3.50",),
            entry_charges=("3.50",),
            charges_included=True,
        )

        assert schema.validate(etree.fromstring(_file(credit))), schema.error_log

    def test_version_02_charges_carry_their_amount_in_each_chrgs(self) -> None:
        data = _02(
            entry_charges=COMMISSION
            + '<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">0.50</TtlChrgsAndTaxAmt><Amt Ccy="EUR">0.50</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd></Chrgs>"
        )

        [statement] = parse_camt(data, source="v02.xml")
        [entry] = statement.entries

        assert entry.charges == (
            Charge(amount=Decimal("-3.50"), currency="EUR", type_code="COMM"),
            Charge(amount=Decimal("0.50"), currency="EUR"),
        )
        assert entry.details[0].original_amount == Decimal("1000.00")  # InstdAmt before TxAmt

    @pytest.mark.skipif(not SCHEMAS.is_dir(), reason=f"camt XML Schemas not found at {SCHEMAS}")
    def test_the_version_02_sample_is_schema_valid(self) -> None:
        schema = etree.XMLSchema(etree.parse(SCHEMAS / "camt.053.001.02.xsd"))
        data = _02(transaction=COMMISSION)

        assert schema.validate(etree.fromstring(data)), schema.error_log

    def test_a_total_without_records_is_one_charge_taken(self) -> None:
        data = _file(RETURNED).replace(
            b'<Rcrd><Amt Ccy="EUR">3.50</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
            b"<ChrgInclInd>true</ChrgInclInd></Rcrd>",
            b"",
        )

        [statement] = parse_camt(data, source="total.xml")

        assert statement.entries[0].details[0].charges == (Charge(amount=Decimal("-3.50"), currency="EUR"),)

    def test_an_original_in_another_currency_says_nothing_of_the_entrys(self) -> None:
        data = _file(RETURNED).replace(
            b'<InstdAmt><Amt Ccy="EUR">1000.00</Amt>', b'<InstdAmt><Amt Ccy="USD">1085.00</Amt>'
        )

        [statement] = parse_camt(data, source="usd.xml")

        assert statement.entries[0].details[0].original_amount is None

    def test_a_bad_charge_indicator_names_where_it_is(self) -> None:
        data = _file(RETURNED).replace(b"<ChrgInclInd>true", b"<ChrgInclInd>yes")

        with pytest.raises(UnableToReadBankFile) as refused:
            parse_camt(data, source="bad.xml")

        assert refused.value.message == (
            "bad.xml: entry 1: TxDtls 1: Chrgs 1: Rcrd 1: ChrgInclInd 'yes' is not true or false"
        )


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"camt samples not found at {SAMPLES}")
class TestSamples:
    """genkgo's camt.052 samples are the published files with Chrgs (Swiss, a charge booked apart); their
    JSON gives the expected charge: amount -31 (minor units, a debit), not included, identification 31."""

    @pytest.mark.parametrize("name", ["camt052.v4.xml", "camt052.v6.xml"])
    def test_the_swiss_charge_is_read_as_the_library_reads_it(self, name: str) -> None:
        [statement] = parse_camt((SAMPLES / "genkgo" / name).read_bytes(), source=name, accept_reports=True)
        [entry] = statement.entries

        assert entry.charges == ()
        assert entry.details[0].charges == (
            Charge(amount=Decimal("-0.31"), currency="CHF", included=False, type_code="31"),
        )
        # InstdAmt is in USD and TxAmt in CHF, the entry in SEK: no original amount in the entry's currency
        assert entry.details[0].original_amount is None

    def test_zero_charges_on_the_entry_and_the_transaction(self) -> None:
        name = "camt052.v6.Amt-zero.xml"
        [statement] = parse_camt((SAMPLES / "genkgo" / name).read_bytes(), source=name, accept_reports=True)
        [entry] = statement.entries

        assert entry.charges == (Charge(amount=Decimal(0), currency="CHF", included=False, type_code="32"),)
        assert entry.details[0].charges == (
            Charge(amount=Decimal(0), currency="CHF", included=False, type_code="31"),
        )
