"""camt.053.001.08 statements written by tests: what a bank sends, with the entries a test needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

OWN_IBAN = "DE89370400440532013000"


@dataclass(frozen=True)
class Credit:
    amount: str
    reference: str | None = None  # AcctSvcrRef
    name: str = ""
    iban: str = ""
    text: str = ""
    structured: str = ""
    day: date = date(2026, 3, 20)
    currency: str = "EUR"
    end_to_end: str = "NOTPROVIDED"
    debit: bool = False
    return_reason: str = ""  # RtrInf/Rsn/Cd of a returned payment (AC04, MD06, ...)
    bank_code: str = "PMNT-RCDT-ESCT"  # BkTxCd/Domn as domain-family-subfamily
    original_amount: str = ""  # TxDtls/AmtDtls/InstdAmt/Amt (a return's original payment)
    charges: tuple[str, ...] = ()  # TxDtls/Chrgs/Rcrd/Amt, each DBIT
    entry_charges: tuple[str, ...] = ()  # Ntry/Chrgs/Rcrd/Amt, each DBIT
    charges_included: bool | None = None  # ChrgInclInd of each charge record; None leaves it out


def _charges(amounts: tuple[str, ...], currency: str, included: bool | None) -> str:
    if not amounts:
        return ""
    indicator = "" if included is None else f"<ChrgInclInd>{str(included).lower()}</ChrgInclInd>"
    total = sum((Decimal(amount) for amount in amounts), Decimal(0))
    records = "".join(
        f'<Rcrd><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>{indicator}</Rcrd>'
        for amount in amounts
    )
    return f'<Chrgs><TtlChrgsAndTaxAmt Ccy="{currency}">{total}</TtlChrgsAndTaxAmt>{records}</Chrgs>'


def statement_xml(
    credits: list[Credit],
    *,
    statement_id: str = "STMT-1",
    iban: str = OWN_IBAN,
    opening: str | None = "1000.00",
    closing: str | None = None,
    message_id: str = "MSG-1",
    page: tuple[int, bool] | None = None,
    copy_indicator: str = "",
    with_closing: bool = True,
) -> bytes:
    """`page`: (PgNb, LastPgInd) of a statement split over several messages; `opening` None and
    `with_closing` False leave a page's balances out."""
    booked = sum((Decimal(c.amount) * (-1 if c.debit else 1) for c in credits), Decimal(0))
    closing = closing or str(Decimal(opening or 0) + booked)
    entries = []
    for credit in credits:
        ref = f"<AcctSvcrRef>{escape(credit.reference)}</AcctSvcrRef>" if credit.reference else ""
        party = ""
        if credit.name or credit.iban:
            party = (
                "<RltdPties><Dbtr><Pty><Nm>"
                + escape(credit.name)
                + "</Nm></Pty></Dbtr>"
                + (f"<DbtrAcct><Id><IBAN>{credit.iban}</IBAN></Id></DbtrAcct>" if credit.iban else "")
                + "</RltdPties>"
            )
        remittance = ""
        if credit.text or credit.structured:
            remittance = "<RmtInf>"
            if credit.text:
                remittance += f"<Ustrd>{escape(credit.text)}</Ustrd>"
            if credit.structured:
                remittance += (
                    "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                    f"<Ref>{escape(credit.structured)}</Ref></CdtrRefInf></Strd>"
                )
            remittance += "</RmtInf>"
        if credit.return_reason:
            remittance += f"<RtrInf><Rsn><Cd>{credit.return_reason}</Cd></Rsn></RtrInf>"
        indicator = "DBIT" if credit.debit else "CRDT"
        domain, family, subfamily = credit.bank_code.split("-")
        original = ""
        if credit.original_amount:
            amount = f'<Amt Ccy="{credit.currency}">{credit.original_amount}</Amt>'
            original = f"<AmtDtls><InstdAmt>{amount}</InstdAmt></AmtDtls>"
        entries.append(
            f"""<Ntry>
  <Amt Ccy="{credit.currency}">{credit.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>{credit.day.isoformat()}</Dt></BookgDt><ValDt><Dt>{credit.day.isoformat()}</Dt></ValDt>
  {ref}
  <BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{subfamily}</SubFmlyCd></Fmly></Domn></BkTxCd>
  {_charges(credit.entry_charges, credit.currency, credit.charges_included)}
  <NtryDtls><TxDtls><Refs><EndToEndId>{escape(credit.end_to_end)}</EndToEndId></Refs>
  <Amt Ccy="{credit.currency}">{credit.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{original}
  {_charges(credit.charges, credit.currency, credit.charges_included)}
  {party}{remittance}</TxDtls></NtryDtls>
</Ntry>"""
        )
    day = credits[0].day.isoformat() if credits else "2026-03-20"
    balances = [
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(Decimal(amount))}</Amt>'
        f"<CdtDbtInd>{'DBIT' if Decimal(amount) < 0 else 'CRDT'}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
        for code, amount in (("OPBD", opening), ("CLBD", closing if with_closing else None))
        if amount is not None
    ]
    pagination = (
        f"<StmtPgntn><PgNb>{page[0]}</PgNb><LastPgInd>{str(page[1]).lower()}</LastPgInd></StmtPgntn>"
        if page
        else ""
    )
    copy = f"<CpyDplctInd>{copy_indicator}</CpyDplctInd>" if copy_indicator else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt><GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{statement_id}</Id>{pagination}<CreDtTm>{day}T18:00:00</CreDtTm>{copy}
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>
{"".join(balances)}
{"".join(entries)}
</Stmt></BkToCstmrStmt></Document>""".encode()
