"""ISO 11649 structured creditor references ("RF" references) built from document numbers.

The reference carries the invoice number's letters and digits, so cash application can read the number
back from a remittance line (`rf_reference_body`) and match it without fuzzy guessing.
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

MAX_BODY_LENGTH = 21  # ISO 11649: "RF", two check digits and at most 21 alphanumerics
_SEPARATORS = re.compile(r"[\s\-./_:,#]+")
_BODY = re.compile(r"[0-9A-Z]{1,21}")


def rf_reference(document_number: str) -> str:
    """The RF creditor reference for a document number, printed in groups of four.

    Separators (spaces, `-`, `.`, `/`, `_`, `:`, `,`, `#`) are dropped and letters uppercased:
    "INV-2026-000123" -> "RF98 INV2 0260 0012 3". A number with other characters, none at all, or more
    than 21 letters and digits cannot be carried and raises ValueError.
    """
    body = _SEPARATORS.sub("", document_number).upper()
    if not _BODY.fullmatch(body):
        raise ValueError(
            f"'{document_number}' cannot be an ISO 11649 reference: it needs 1 to {MAX_BODY_LENGTH} "
            "letters A-Z and digits"
        )
    # ISO 7064 MOD 97-10 over body + "RF" + "00" gives the check digits that make the reference valid.
    check_digits = mod_97_10.calc_check_digits(body + "RF")
    return str(iso11649.format(iso11649.validate(f"RF{check_digits}{body}")))


def rf_reference_body(reference: str) -> str:
    """The letters and digits an RF reference carries ("RF18 5390 0754 7034" -> "539007547034").

    Raises ValueError when the reference is not a valid ISO 11649 reference (wrong check digits, too long,
    not starting with RF), so a mistyped reference never matches another document.
    """
    try:
        compact = str(iso11649.validate(reference))
    except ValidationError as error:
        raise ValueError(f"'{reference}' is not a valid ISO 11649 reference") from error
    return compact[4:]
