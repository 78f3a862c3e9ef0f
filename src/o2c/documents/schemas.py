from __future__ import annotations

from datetime import date

from ninja import Schema

from o2c.documents.services import StatementSent


class StatementSentOut(Schema):
    customer_number: str
    as_of: date
    language: str
    recipients: list[str]

    @classmethod
    def of(cls, sent: StatementSent) -> StatementSentOut:
        return cls(
            customer_number=sent.customer_number,
            as_of=sent.as_of,
            language=sent.language,
            recipients=list(sent.recipients),
        )
