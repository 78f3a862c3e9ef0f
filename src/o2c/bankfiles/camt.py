"""Read ISO 20022 bank-to-customer cash messages: camt.053 statements and camt.054 notifications.

Versions .001.02 to .001.08 are read, and national variants whose root namespace is not ISO's but whose
structure is (the Austrian STUZZA camt.053, for one). Elements are read by their local name in the
document's own namespace, so once the message is known the namespace does not matter.

camt.052 intraday account reports carry entries that are not final (pending, later re-sent in the
camt.053), so `parse_camt` refuses them unless the caller asks for them with `accept_reports=True`.

Pure code: bytes in, frozen dataclasses out; no database, no clock. The input is untrusted: no DTD, no
entities, no network, no huge trees, a size limit. Every refusal is one `UnableToReadBankFile` whose
message names the file, where in it (statement, entry, balance; 1-based, in file order) and what is wrong.
Money is `Decimal` parsed from the text, never float, with the currency of its own `Ccy` attribute.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import (
    CLOSING_CODES,
    OPENING_CODES,
    Balance,
    Charge,
    Entry,
    Statement,
    TransactionDetails,
    balance_difference,
    first_balance,
    iter_entries,
)
from o2c.core.money import UnableToHandleMoney, parse_amount

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are refused before parsing; a bank's daily camt.053 for a busy account is a few MB."""

SUPPORTED_VERSIONS = range(2, 9)

_ISO_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.001\.(\d{2})")
_VERSION_IN_NAMESPACE = re.compile(r"camt\.05[234]\.001\.(\d{2})")
# message element under Document -> (message, record element)
_MESSAGES = {
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
    "BkToCstmrAcctRpt": ("camt.052", "Rpt"),
}
_RECORD_NAMES = {"Stmt": "statement", "Ntfctn": "notification", "Rpt": "report"}
# ISO 20022 ActiveOrHistoricCurrencyAndAmount: up to 18 digits, 5 of them decimals, never negative.
_AMOUNT = re.compile(r"[0-9]{1,18}(\.[0-9]{1,5})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COPY_INDICATORS = ("CODU", "COPY", "DUPL")
"""CpyDplctInd: a copy duplicate, a copy, a duplicate of a message sent before."""
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?")


def safe_xml_parser() -> etree.XMLParser:
    """The only parser for bank files: no DTD, no entity expansion, no network, libxml2's size limits."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        load_dtd=False,
        dtd_validation=False,
    )


def parse_camt(data: bytes, *, source: str, accept_reports: bool = False) -> list[Statement]:
    """Every statement of a camt.053 or camt.054 file (and camt.052 with `accept_reports`), in file order."""
    root = _parse_xml(data, source=source)
    reader = _detect(root, source=source, accept_reports=accept_reports)
    return reader.statements(root)


def _parse_xml(data: bytes, *, source: str) -> etree._Element:
    if len(data) > MAX_FILE_BYTES:
        raise UnableToReadBankFile(
            f"the file has {len(data)} bytes, over the limit of {MAX_FILE_BYTES}",
            source=source,
            code="unsafe_xml",
        )
    # Refused before libxml2 sees it where the encoding shows it (UTF-8 and other ASCII-compatible
    # encodings); the docinfo check below catches the rest (UTF-16).
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _unsafe(source)
    try:
        root = etree.fromstring(data, parser=safe_xml_parser())
    except etree.XMLSyntaxError as error:
        message = " ".join(str(error).split()) or "not well-formed"
        raise UnableToReadBankFile(f"not well-formed XML: {message}", source=source) from None
    if root is None:
        raise UnableToReadBankFile("the file is empty", source=source)
    docinfo = root.getroottree().docinfo
    # libxml2 records any DOCTYPE, with or without an internal subset, as the internal DTD node.
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _unsafe(source)
    return root


def _unsafe(source: str) -> UnableToReadBankFile:
    return UnableToReadBankFile(
        "a DOCTYPE or entity declaration is not allowed in a bank file", source=source, code="unsafe_xml"
    )


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _detect(root: etree._Element, *, source: str, accept_reports: bool) -> _Reader:
    namespace = etree.QName(root).namespace or ""
    iso = _ISO_NAMESPACE.fullmatch(namespace)
    if iso is not None and int(iso.group(2)) not in SUPPORTED_VERSIONS:
        raise UnableToReadBankFile(
            f"{iso.group(1)}.001.{iso.group(2)} is not supported (versions .001.02 to .001.08 are read)",
            source=source,
            code="unsupported_bank_file",
        )
    children = [child for child in root if isinstance(child.tag, str)]
    if _local_name(root) != "Document" or len(children) != 1 or _local_name(children[0]) not in _MESSAGES:
        if _local_name(root) == "Document" and children:
            found = f"message element {', '.join(_local_name(child) for child in children[:3])}"
        else:
            found = f"root element {_local_name(root)}"
        raise UnableToReadBankFile(
            f"not a camt.053/054 document ({found})", source=source, code="unsupported_bank_file"
        )
    message, record = _MESSAGES[_local_name(children[0])]
    if iso is not None and iso.group(1) != message:
        raise UnableToReadBankFile(
            f"namespace {namespace} is {iso.group(1)} but the message is {_local_name(children[0])}",
            source=source,
        )
    named = _VERSION_IN_NAMESPACE.search(namespace)
    version = int(named.group(1)) if named else None
    if message == "camt.052" and not accept_reports:
        raise UnableToReadBankFile(
            "camt.052 account reports are not imported (intraday, not final): import the camt.053",
            source=source,
            code="unsupported_bank_file",
        )
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise UnableToReadBankFile(
            f"{message}.001.{version:02d} is not supported (versions .001.02 to .001.08 are read)",
            source=source,
            code="unsupported_bank_file",
        )
    return _Reader(
        source=source, namespace=namespace, message=message, version=version, record=record, body=children[0]
    )


class _Reader:
    def __init__(
        self,
        *,
        source: str,
        namespace: str,
        message: str,
        version: int | None,
        record: str,
        body: etree._Element,
    ) -> None:
        self.source = source
        self.namespace = namespace
        self.message = message
        self.version = version
        self.record = record
        self.body = body
        self._position = 0
        self._compiled: dict[str, etree.XPath] = {}
        self._message_page: etree._Element | None = None

    # --- element access by local name in the document's namespace ---

    def _xpath(self, path: str) -> etree.XPath:
        """The path compiled once (libxml2's XPath: lxml's find() walks paths in Python)."""
        compiled = self._compiled.get(path)
        if compiled is None:
            steps = "/".join(f"n:{name}" if self.namespace else name for name in path.split("/"))
            namespaces = {"n": self.namespace} if self.namespace else None
            compiled = self._compiled[path] = etree.XPath(steps, namespaces=namespaces)
        return compiled

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        found = self._xpath(path)(element)
        return found[0] if isinstance(found, list) and found else None  # type: ignore[return-value]

    def findall(self, element: etree._Element, path: str) -> list[etree._Element]:
        found = self._xpath(path)(element)
        return list(found) if isinstance(found, list) else []  # type: ignore[arg-type]

    def text(self, element: etree._Element | None, path: str) -> str | None:
        if element is None:
            return None
        found = self.find(element, path)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def texts(self, element: etree._Element, path: str) -> tuple[str, ...]:
        values = (found.text.strip() for found in self.findall(element, path) if found.text)
        return tuple(value for value in values if value)

    def error(self, where: str | None, message: str) -> UnableToReadBankFile:
        return UnableToReadBankFile(message, source=self.source, where=where)

    # --- the message ---

    def statements(self, root: etree._Element) -> list[Statement]:
        records = self.findall(self.body, self.record)
        if not records:
            raise self.error(None, f"{_local_name(self.body)} has no {self.record}")
        header = self.find(self.body, "GrpHdr")
        message_id = self.text(header, "MsgId")
        header_created = self._datetime(header, "CreDtTm", where="GrpHdr")
        self._message_page = self.find(header, "MsgPgntn") if header is not None else None
        return [
            self._statement(element, number=number, message_id=message_id, header_created=header_created)
            for number, element in enumerate(records, start=1)
        ]

    def _statement(
        self, element: etree._Element, *, number: int, message_id: str | None, header_created: datetime | None
    ) -> Statement:
        where = f"{_RECORD_NAMES[self.record]} {number}"
        statement_id = self.text(element, "Id")
        if statement_id is None:
            raise self.error(where, f"{self.record}/Id is missing")
        account = self.find(element, "Acct")
        account_iban = self.text(account, "Id/IBAN")
        account_other_id = self.text(account, "Id/Othr/Id")
        if account_iban is None and account_other_id is None:
            raise self.error(where, "Acct has neither Id/IBAN nor Id/Othr/Id")
        currency = self.text(account, "Ccy")
        if currency is not None and not _CURRENCY.fullmatch(currency):
            raise self.error(where, f"Acct/Ccy '{currency}' is not an ISO 4217 code")
        balances = tuple(
            self._balance(balance, where=f"{where}: Bal {index}")
            for index, balance in enumerate(self.findall(element, "Bal"), start=1)
        )
        opening = first_balance(balances, OPENING_CODES)
        closing = first_balance(balances, CLOSING_CODES)
        created_at = self._datetime(element, "CreDtTm", where=where) or header_created
        pagination = self.find(element, f"{self.record}Pgntn")
        page_number, last_page = self._pagination(
            pagination if pagination is not None else self._message_page, where=where
        )
        copy_indicator = self.text(element, "CpyDplctInd")
        if copy_indicator is not None and copy_indicator not in _COPY_INDICATORS:
            raise self.error(where, f"CpyDplctInd '{copy_indicator}' is not CODU, COPY or DUPL")
        entries = tuple(self._entry(entry) for entry in self.findall(element, "Ntry"))
        return Statement(
            message=self.message,
            version=self.version,
            namespace=self.namespace,
            message_id=message_id,
            statement_id=statement_id,
            account_iban=account_iban,
            account_other_id=account_other_id,
            currency=currency,
            opening_balance=opening.amount if opening else None,
            closing_balance=closing.amount if closing else None,
            created_at=created_at,
            balances=balances,
            entries=entries,
            page_number=page_number,
            last_page=last_page,
            copy_indicator=copy_indicator,
        )

    def _pagination(self, element: etree._Element | None, *, where: str) -> tuple[int | None, bool | None]:
        if element is None:
            return None, None
        number = self.text(element, "PgNb")
        if number is None or not number.isdigit() or int(number) < 1:
            raise self.error(where, f"pagination PgNb '{number or ''}' is not a page number")
        return int(number), self._boolean(element, "LastPgInd", where=where)

    def _balance(self, element: etree._Element, *, where: str) -> Balance:
        code = self.text(element, "Tp/CdOrPrtry/Cd") or self.text(element, "Tp/CdOrPrtry/Prtry")
        if code is None:
            raise self.error(where, "Tp/CdOrPrtry has neither Cd nor Prtry")
        amount, currency = self._amount(element, "Amt", where=where)
        sign = self._sign(element, where=where)
        balance_date, _ = self._date_choice(self.find(element, "Dt"), name="Dt", where=where)
        return Balance(
            code=code,
            amount=sign * amount if amount else amount,
            currency=currency,
            balance_date=balance_date,
        )

    def _entry(self, element: etree._Element) -> Entry:
        self._position += 1
        where = f"entry {self._position}"
        amount, currency = self._amount(element, "Amt", where=where)
        sign = self._sign(element, where=where)
        signed = sign * amount if amount else amount
        booking_date, booked_at = self._date_choice(
            self.find(element, "BookgDt"), name="BookgDt", where=where
        )
        value_date, _ = self._date_choice(self.find(element, "ValDt"), name="ValDt", where=where)
        status = self.text(element, "Sts") or self.text(element, "Sts/Cd") or self.text(element, "Sts/Prtry")
        domain, proprietary = self._bank_transaction_code(self.find(element, "BkTxCd"))
        batch_count = self._batch_count(element, where=where)
        details = tuple(
            self._details(detail, entry_sign=sign, entry_currency=currency, where=f"{where}: TxDtls {index}")
            for index, detail in enumerate(self.findall(element, "NtryDtls/TxDtls"), start=1)
        )
        return Entry(
            position=self._position,
            amount=signed,
            currency=currency,
            booking_date=booking_date,
            booked_at=booked_at,
            value_date=value_date,
            status=status,
            entry_reference=self.text(element, "NtryRef"),
            bank_reference=self.text(element, "AcctSvcrRef"),
            bank_transaction_code=domain,
            proprietary_bank_transaction_code=proprietary,
            is_reversal=self._boolean(element, "RvslInd", where=where),
            batch_count=batch_count,
            details=details,
            charges=self._charges(element, where=where),
        )

    def _details(
        self, element: etree._Element, *, entry_sign: Decimal, entry_currency: str, where: str
    ) -> TransactionDetails:
        sign = self._sign(element, where=where) if self.find(element, "CdtDbtInd") is not None else entry_sign
        amount_element = "Amt" if self.find(element, "Amt") is not None else "AmtDtls/TxAmt/Amt"
        amount: Decimal | None = None
        currency: str | None = None
        if self.find(element, amount_element) is not None:
            unsigned, currency = self._amount(element, amount_element, where=where)
            amount = sign * unsigned if unsigned else unsigned
        # The counterparty of money in is who paid it (the debtor), of money out who received it.
        party = "Dbtr" if sign > 0 else "Cdtr"
        parties = self.find(element, "RltdPties")
        # Up to .001.07 the party is Dbtr/Nm; from .001.08 Dbtr/Pty/Nm, or Dbtr/Agt/... for a bank.
        name = (
            self.text(parties, f"{party}/Nm")
            or self.text(parties, f"{party}/Pty/Nm")
            or self.text(parties, f"{party}/Agt/FinInstnId/Nm")
        )
        iban = self.text(parties, f"{party}Acct/Id/IBAN")
        return_reason = self.text(element, "RtrInf/Rsn/Cd") or self.text(element, "RtrInf/Rsn/Prtry")
        if return_reason and sign < 0 and not (name or iban):
            # a returned collection names the parties of the original one: the debtor is the customer
            name = self.text(parties, "Dbtr/Nm") or self.text(parties, "Dbtr/Pty/Nm")
            iban = self.text(parties, "DbtrAcct/Id/IBAN")
        remittance = self.find(element, "RmtInf")
        # the underlying payment's own amount (a return's original, without the bank's charges): as
        # instructed, else as transacted, in the entry's currency (a foreign one says nothing here)
        original: Decimal | None = None
        for path in ("AmtDtls/InstdAmt/Amt", "AmtDtls/TxAmt/Amt"):
            if self.find(element, path) is not None:
                stated, stated_currency = self._amount(element, path, where=where)
                if stated_currency == entry_currency:
                    original = stated
                    break
        return TransactionDetails(
            is_credit=sign > 0,
            amount=amount,
            currency=currency,
            bank_reference=self.text(element, "Refs/AcctSvcrRef"),
            end_to_end_id=self.text(element, "Refs/EndToEndId"),
            counterparty_name=name,
            counterparty_iban=iban,
            return_reason=return_reason,
            remittance_unstructured=self.texts(remittance, "Ustrd") if remittance is not None else (),
            remittance_structured_refs=(
                self.texts(remittance, "Strd/CdtrRefInf/Ref") if remittance is not None else ()
            ),
            charges=self._charges(element, where=where),
            original_amount=original,
        )

    def _charges(self, element: etree._Element, *, where: str) -> tuple[Charge, ...]:
        """The `Chrgs` of an entry or transaction. From .001.03 a `Chrgs` holds `Rcrd`s (from .04 with
        ChrgInclInd); .001.02 repeats `Chrgs` with the amount in each; a `TtlChrgsAndTaxAmt` given without
        records is one charge. A charge without CdtDbtInd is a debit: what the bank takes."""
        charges = []
        for index, block in enumerate(self.findall(element, "Chrgs"), start=1):
            at = f"{where}: Chrgs {index}"
            records = self.findall(block, "Rcrd")
            if records:
                charges += [
                    self._charge(record, "Amt", where=f"{at}: Rcrd {number}")
                    for number, record in enumerate(records, start=1)
                ]
            elif self.find(block, "Amt") is not None:
                charges.append(self._charge(block, "Amt", where=at))
            elif self.find(block, "TtlChrgsAndTaxAmt") is not None:
                charges.append(self._charge(block, "TtlChrgsAndTaxAmt", where=at))
        return tuple(charges)

    def _charge(self, element: etree._Element, path: str, *, where: str) -> Charge:
        amount, currency = self._amount(element, path, where=where)
        credited = self.find(element, "CdtDbtInd") is not None and self._sign(element, where=where) > 0
        included = None
        if self.find(element, "ChrgInclInd") is not None:
            included = self._boolean(element, "ChrgInclInd", where=where)
        return Charge(
            amount=amount if credited or not amount else -amount,
            currency=currency,
            included=included,
            type_code=self.text(element, "Tp/Cd") or self.text(element, "Tp/Prtry/Id"),
        )

    # --- values ---

    def _amount(self, element: etree._Element, path: str, *, where: str) -> tuple[Decimal, str]:
        found = self.find(element, path)
        if found is None:
            raise self.error(where, f"{path} is missing")
        currency = (found.get("Ccy") or "").strip()
        if not currency:
            raise self.error(where, f"{path} has no Ccy")
        if not _CURRENCY.fullmatch(currency):
            raise self.error(where, f"{path} Ccy '{currency}' is not an ISO 4217 code")
        text = (found.text or "").strip()
        if not _AMOUNT.fullmatch(text):
            raise self.error(where, f"{path} '{text}' is not an amount")
        try:
            return parse_amount(text, currency), currency
        except UnableToHandleMoney as error:
            raise self.error(where, f"{path} {error.message}") from None

    def _sign(self, element: etree._Element, *, where: str) -> Decimal:
        indicator = self.text(element, "CdtDbtInd")
        if indicator == "CRDT":
            return Decimal(1)
        if indicator == "DBIT":
            return Decimal(-1)
        if indicator is None:
            raise self.error(where, "CdtDbtInd is missing")
        raise self.error(where, f"CdtDbtInd '{indicator}' is neither CRDT nor DBIT")

    def _boolean(self, element: etree._Element, path: str, *, where: str) -> bool:
        value = self.text(element, path)
        if value is None or value in ("false", "0"):
            return False
        if value in ("true", "1"):
            return True
        raise self.error(where, f"{path} '{value}' is not true or false")

    def _date_choice(
        self, element: etree._Element | None, *, name: str, where: str
    ) -> tuple[date | None, datetime | None]:
        """A DateAndDateTimeChoice (Dt or DtTm): its date as written, and the moment when there is one."""
        if element is None:
            return None, None
        text = self.text(element, "Dt")
        if text is not None:
            match = _ISO_DATE.fullmatch(text)
            try:
                return date.fromisoformat(match.group(1) if match else text), None
            except ValueError:
                raise self.error(where, f"{name}/Dt '{text}' is not a date") from None
        moment = self._datetime(element, "DtTm", where=where, name=f"{name}/DtTm")
        return (moment.date(), moment) if moment else (None, None)

    def _datetime(
        self, element: etree._Element | None, path: str, *, where: str, name: str | None = None
    ) -> datetime | None:
        text = self.text(element, path)
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise self.error(where, f"{name or path} '{text}' is not a date and time") from None

    def _bank_transaction_code(self, element: etree._Element | None) -> tuple[str | None, str | None]:
        if element is None:
            return None, None
        parts = [
            self.text(element, "Domn/Cd"),
            self.text(element, "Domn/Fmly/Cd"),
            self.text(element, "Domn/Fmly/SubFmlyCd"),
        ]
        domain = "-".join(part for part in parts if part) or None
        return domain, self.text(element, "Prtry/Cd")

    def _batch_count(self, element: etree._Element, *, where: str) -> int | None:
        text = self.text(element, "NtryDtls/Btch/NbOfTxs")
        if text is None:
            return None
        if not text.isdigit():
            raise self.error(where, f"NtryDtls/Btch/NbOfTxs '{text}' is not a number")
        return int(text)


__all__ = [
    "MAX_FILE_BYTES",
    "Balance",
    "Charge",
    "Entry",
    "Statement",
    "TransactionDetails",
    "balance_difference",
    "iter_entries",
    "parse_camt",
    "safe_xml_parser",
]
