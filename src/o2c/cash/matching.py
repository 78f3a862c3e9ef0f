"""The pure rules of the cash matcher: references, names, amount subsets, discounts and confidence.

No database, no clock, no I/O: the matcher (services) loads candidates and calls these functions.

Reference keys
--------------
A document number is indexed under a few *keys*; a payer's free text yields the keys of every
reference-like stretch in it; a document is suggested when the two sets meet. The key of a stretch:

1. Fold: uppercase, accents dropped, and the letters OCR and typists confuse with digits turned into
   those digits (O->0, I->1, L->1, S->5, B->8, Z->2), so "INV2026OO4711" and "1NV-2026-0047l1" fold
   like "INV-2026-004711" ("1NV-2026-004711").
2. Split at separators (anything that is not A-Z or 0-9) into runs, and each run into letter groups and
   digit groups.
3. Strip the leading zeros of every digit group ("004711" -> "4711"; an all-zero group stays "0").
4. Join the groups without separators: "INV-2026-004711" -> "1NV20264711".

Separators and leading zeros are thereby free, except where a separator between two digit groups is
dropped (the zeros of the second group then stay inside one run): for that the document also gets the
keys with that boundary merged and 0, 1, ... up to two more than its own leading zeros written
("1NV2026004711", "1NV202604711", ...), and the text also offers the keys with separators between digit
groups removed ("INV-2026-1 04711" -> "1NV2026104711"). A number with at least 6 significant digits
(after step 3) also gets the same keys of its digits alone, for texts without the prefix
("2026/123" for "RE2026/00123"). A key must have at least 4 characters and a digit, so "A-1" or "F-12" is
never indexed, nor a number without a written digit. In a text, amounts ("1.234,50", "4711.00"), dates
("2026-11-03", "03.11.2026") and valid IBANs are masked first; a stretch spans at most 8 runs and 40 key
characters and contains a written digit.

Every key of a number keeps its letters and its non-zero digits in order; only zeros differ. So a number
of the same series that differs in one digit (a non-zero digit changed, or a zero made non-zero or back)
never shares a key with it, whatever case, OCR, zero or separator noise the text adds, with one
exception: a separator written inside a digit group, since a stretch may end at any separator
("RE2020/001 01" names both RE2020/00101 and RE2020/00001). Nor can the scheme tell apart numbers that
differ only in zeros at group starts ("INV-2026-04711" and "INV-2026-004711") or a leading "O" in a
prefix ("OB-1" and "B-1"). The amount decides there.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from rapidfuzz import fuzz
from stdnum import iban, iso11649

from o2c.core.money import Money, allocate

# --- references ---------------------------------------------------------------------------------------

MIN_KEY_LENGTH = 4
"""Shorter keys ("471", "F12") match too much unrelated text."""
MAX_KEY_LENGTH = 40
MAX_WINDOW_RUNS = 8
MIN_DIGITS_ALONE = 6
"""Significant digits a number needs before its digits alone identify it ("2026123" yes, "2642" no)."""
_MAX_DOCUMENT_VARIANTS = 256
_MAX_TEXT_MERGE_BOUNDARIES = 3

_OCR_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2"})
_RUN = re.compile(r"[A-Z0-9]+")
_GROUP = re.compile(r"[A-Z]+|[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
# A payer's own prefix glued to the digits ("Rg2026"), up to its last letter that is never a misread digit.
_GLUED_PREFIX = re.compile(r"^[A-Z]*[AC-HJKMNP-RT-Y](?=[A-Z]*[0-9])")

# Amounts with exactly two decimals, optionally with thousands separators; not part of a longer number.
_AMOUNT = re.compile(
    r"(?<![\w.,'/-])(?:\d{1,3}(?:[.,'\u00a0 ]\d{3})+|\d+)[.,]\d{2}(?![\w]|[.,'/-]\w)", re.UNICODE
)
_ISO_DATE = re.compile(r"(?<![\w.,/-])(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?![\w]|[.,/-]\w)")
_DAY_FIRST_DATE = re.compile(r"(?<![\w.,/-])(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?![\w]|[.,/-]\w)")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
_IBAN_BODY = re.compile(r"(?: ?[A-Za-z0-9]){11,30}")

# (is_digit_group, text)
_Group = tuple[bool, str]


def _ascii_upper(text: str) -> str:
    """Uppercase with accents dropped: what is left outside A-Z and 0-9 acts as a separator."""
    if text.isascii():
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _strip(digits: str) -> str:
    return digits.lstrip("0") or "0"


def _groups(run: str) -> list[_Group]:
    return [(part[0].isdigit(), part) for part in _GROUP.findall(run)]


def _flatten(runs: Sequence[Sequence[_Group]]) -> tuple[list[_Group], list[int]]:
    """All groups of consecutive runs, and the indexes of digit groups that follow a digit group
    across a separator (the boundaries a writer may drop)."""
    groups: list[_Group] = []
    boundaries: list[int] = []
    for run in runs:
        if groups and run and groups[-1][0] and run[0][0]:
            boundaries.append(len(groups))
        groups.extend(run)
    return groups, boundaries


def _assemble(groups: Sequence[_Group], merged: Mapping[int, int | None]) -> str:
    """Join the groups into a key. `merged` maps a boundary index to the zeros written before that
    group's significant digits when it is glued to the digit group before it (None: as written)."""
    parts: list[str] = []
    digits: str | None = None
    for index, (is_digit, text) in enumerate(groups):
        if is_digit and digits is not None and index in merged:
            zeros = merged[index]
            digits += text if zeros is None else "0" * zeros + text.lstrip("0")
            continue
        if digits is not None:
            parts.append(_strip(digits))
            digits = None
        if is_digit:
            digits = text
        else:
            parts.append(text)
    if digits is not None:
        parts.append(_strip(digits))
    return "".join(parts)


def _is_key(key: str) -> bool:
    # keys are made of A-Z and 0-9 only: one that is not all letters has a digit
    return MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH and not key.isalpha()


def reference_key(token: str) -> str:
    """The key of one token: folded, leading zeros of each digit group stripped, groups joined.

    "INV-2026-004711" -> "1NV20264711"; "RE2026/00123" -> "RE2026123". Returned whatever its length;
    `document_reference_keys` and `text_reference_keys` only use keys of 4 characters or more.
    """
    runs = [_groups(run.translate(_OCR_FOLD)) for run in _RUN.findall(_ascii_upper(token))]
    groups, _ = _flatten(runs)
    return _assemble(groups, {})


def _document_variants(groups: Sequence[_Group], boundaries: Sequence[int]) -> set[str]:
    # Per boundary: kept (None in the product, i.e. not merged) or merged with 0..z+2 zeros.
    options: list[list[int | None]] = []
    for index in boundaries:
        text = groups[index][1]
        zeros = len(text) - len(text.lstrip("0"))
        options.append([None, *range(zeros + 3)])
    combinations = 1
    for option in options:
        combinations *= len(option)
    if combinations > _MAX_DOCUMENT_VARIANTS:
        # Too many boundaries to spell out: all kept, all merged as written, all merged without zeros.
        written = [len(groups[i][1]) - len(groups[i][1].lstrip("0")) for i in boundaries]
        product: Iterator[tuple[int | None, ...]] = iter(
            [tuple(None for _ in boundaries), tuple(written), tuple(0 for _ in boundaries)]
        )
    else:
        product = itertools.product(*options)
    keys = set()
    for choice in product:
        merged = {index: zeros for index, zeros in zip(boundaries, choice, strict=True) if zeros is not None}
        keys.add(_assemble(groups, merged))
    return keys


@functools.lru_cache(maxsize=131072)
def document_reference_keys(number: str) -> frozenset[str]:
    """The keys a document number is indexed under (see the module docstring); empty when too short."""
    upper = _ascii_upper(number)
    groups, boundaries = _flatten([_groups(run.translate(_OCR_FOLD)) for run in _RUN.findall(upper)])
    if not _is_key(_assemble(groups, {})) or not _DIGITS.search(upper):
        return frozenset()  # too short, or no written digit (a word like "SOLO" folds to "5010")
    keys = _document_variants(groups, boundaries)
    digit_runs = _DIGITS.findall(upper)
    if sum(len(run.lstrip("0")) for run in digit_runs) >= MIN_DIGITS_ALONE:
        digit_groups, digit_boundaries = _flatten([[(True, run)] for run in digit_runs])
        keys |= _document_variants(digit_groups, digit_boundaries)
    return frozenset(key for key in keys if _is_key(key))


def _valid_ibans(text: str) -> Iterator[tuple[int, int]]:
    for start in _IBAN_START.finditer(text):
        body = _IBAN_BODY.match(text, start.end())
        if body is None:
            continue
        # The longest prefix that is a valid IBAN: a following word may be glued on by the pattern.
        for end in range(body.end(), body.start() + 10, -1):
            if text[end - 1] != " " and iban.is_valid(text[start.start() : end]):
                yield start.start(), end
                break


def masked_spans(text: str) -> list[tuple[int, int]]:
    """Spans of `text` never read as references: amounts with two decimals, valid dates, valid IBANs."""
    spans = [match.span() for match in _AMOUNT.finditer(text)]
    for match in _ISO_DATE.finditer(text):
        if 1 <= int(match[2]) <= 12 and 1 <= int(match[3]) <= 31:
            spans.append(match.span())
    for match in _DAY_FIRST_DATE.finditer(text):
        if 1 <= int(match[1]) <= 31 and 1 <= int(match[2]) <= 12:
            spans.append(match.span())
    spans.extend(_valid_ibans(text))
    return sorted(spans)


def _segments(text: str) -> Iterator[str]:
    position = 0
    for start, end in masked_spans(text):
        if start >= position:
            yield text[position:start]
        position = max(position, end)
    yield text[position:]


# One reading of a window of runs: the key written so far, the digit group still open (its leading zeros
# are stripped when it closes), and how many of the window's digit-digit boundaries it glued.
_Reading = tuple[str, str | None, int]


def _read_on(key: str, digits: str | None, groups: Sequence[_Group]) -> tuple[str, str | None]:
    """A reading continued over groups that are not glued to what came before."""
    for is_digit, text in groups:
        if digits is not None:
            key += _strip(digits)
            digits = None
        if is_digit:
            digits = text
        else:
            key += text
    return key, digits


def _extended(readings: list[_Reading], run: Sequence[_Group], boundaries: int) -> tuple[list[_Reading], int]:
    """The readings of a window grown by one run: a run that starts with digits after digits is a boundary
    a writer may have dropped, read both glued and apart, every combination up to
    `_MAX_TEXT_MERGE_BOUNDARIES` boundaries and only all or none beyond."""
    if not (run[0][0] and readings[0][1] is not None):
        return [(*_read_on(key, digits, run), merges) for key, digits, merges in readings], boundaries
    grown: list[_Reading] = []
    for key, digits, merges in readings:
        glued = (digits or "") + run[0][1]
        grown.append((*_read_on(key, glued, run[1:]), merges + 1))
        grown.append((*_read_on(key, digits, run), merges))
    boundaries += 1
    if boundaries > _MAX_TEXT_MERGE_BOUNDARIES:
        grown = [reading for reading in grown if reading[2] in (0, boundaries)]
    return grown, boundaries


def _reading_key(reading: _Reading) -> str:
    key, digits, _ = reading
    return key + _strip(digits) if digits is not None else key


def text_reference_keys(text: str) -> frozenset[str]:
    """The keys of every reference-like stretch of a payer's text (see the module docstring).

    Each window of up to `MAX_WINDOW_RUNS` runs is read on from the window one run shorter instead of
    being assembled from scratch: a payment's text costs a fraction of a millisecond."""
    keys: set[str] = set()
    for segment in _segments(text):
        raw_runs = _RUN.findall(_ascii_upper(segment))
        runs = [_groups(raw.translate(_OCR_FOLD)) for raw in raw_runs]
        run_has_digit = [any(ch.isdigit() for ch in raw) for raw in raw_runs]
        for first in range(len(raw_runs)):
            starts = [(run_has_digit[first], runs[first])]
            trimmed = _GLUED_PREFIX.sub("", raw_runs[first])
            if trimmed != raw_runs[first]:
                # "Rg2026/4711": without the prefix, for the digits-alone keys. Letters that may be
                # misread digits ("Z020") stay: dropping them would drop digits.
                starts.append((any(ch.isdigit() for ch in trimmed), _groups(trimmed.translate(_OCR_FOLD))))
            for has_digit, first_run in starts:
                readings: list[_Reading] = [(*_read_on("", None, first_run), 0)]
                boundaries = 0
                for last in range(first, min(first + MAX_WINDOW_RUNS, len(raw_runs))):
                    if last > first:
                        readings, boundaries = _extended(readings, runs[last], boundaries)
                        has_digit = has_digit or run_has_digit[last]
                    # the reading that glues nothing (always the last) is the window as written
                    if len(_reading_key(readings[-1])) > MAX_KEY_LENGTH:
                        break
                    if has_digit:
                        found = {_reading_key(reading) for reading in readings} - keys
                        keys.update(key for key in found if _is_key(key))
    return frozenset(keys)


# ISO 11649: "RF", two check digits, 1 to 21 letters and digits, often printed in groups of four.
_RF_START = re.compile(r"(?<![A-Za-z0-9])RF(\d{2})", re.IGNORECASE)
_RF_PARTS = re.compile(r"[A-Za-z0-9]*(?: [A-Za-z0-9]+)*")
RF_MAX_BODY = 21


def rf_references(text: str) -> list[str]:
    """The valid ISO 11649 creditor references in a text, compact ("RF18539007547034"), in text order.

    A reference may be written compact ("RF18539007547034", "RF18 539007547034") or in groups of four
    separated by single spaces ("RF18 5390 0754 7034"); when a following word of up to four characters
    could continue it, the longest valid reading wins.
    """
    found: list[str] = []
    for start in _RF_START.finditer(text):
        parts = _RF_PARTS.match(text, start.end())
        first, *words = parts[0].split(" ") if parts else [""]
        bodies = [first] if first else _grouped_bodies(words)
        valid = [
            iso11649.compact(f"RF{start[1]}{body}")
            for body in bodies
            if len(body) <= RF_MAX_BODY and iso11649.is_valid(f"RF{start[1]}{body}")
        ]
        if valid and valid[-1] not in found:
            found.append(valid[-1])
    return found


def _grouped_bodies(words: Sequence[str]) -> list[str]:
    """The readings of "RF18 5390 0754 7034 ...", shortest first: groups of four, the last of one to
    four; or one compact word after "RF18 "."""
    if words and len(words[0]) > 4:
        return [words[0]]
    bodies: list[str] = []
    for word in words:
        if not 1 <= len(word) <= 4:
            break
        bodies.append((bodies[-1] if bodies else "") + word)
        if len(word) < 4:
            break
    return bodies


def _mod_97_10_number(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def rf_reference_for(payload: str) -> str:
    """The compact ISO 11649 reference carrying `payload` (1 to 21 letters and digits; spaces,
    `-`, `.`, `/` and `_` are dropped, letters uppercased): "539007547034" -> "RF18539007547034".

    Check digits per ISO 7064 MOD 97-10: move "RF00" behind the payload, letters to numbers (A=10 ...
    Z=35), and 98 minus that number mod 97. (`o2c.documents.references.rf_reference` prints the same
    reference in groups of four for documents.)
    """
    body = re.sub(r"[\s\-./_]", "", payload).upper()
    if not re.fullmatch(r"[0-9A-Z]{1,21}", body):
        raise ValueError(
            f"'{payload}' cannot be carried by an ISO 11649 reference (1 to 21 letters and digits)"
        )
    check = 98 - _mod_97_10_number(body + "RF00") % 97
    return f"RF{check:02d}{body}"


# --- names --------------------------------------------------------------------------------------------

_TRANSLITERATION = str.maketrans(
    {
        "Ä": "AE",
        "Ö": "OE",
        "Ü": "UE",
        "ẞ": "SS",
        "Ø": "O",
        "Æ": "AE",
        "Œ": "OE",
        "Ł": "L",
        "Đ": "D",
        "Þ": "TH",
    }
)
_DROPPED = re.compile(r"['’`´]")
_NOT_WORD = re.compile(r"[^A-Z0-9&]+")
_CONNECTORS = {"&": "AND", "UND": "AND", "AND": "AND", "ET": "AND", "Y": "AND"}
_LEGAL_FORMS_WRITTEN = (
    "GmbH & Co. KGaA", "GmbH & Co. KG", "GmbH & Co KG", "AG & Co. KG", "UG & Co. KG", "GmbH Co KG",
    "UG (haftungsbeschränkt)", "haftungsbeschränkt", "GmbH", "mbH", "AG", "KGaA", "KG", "OHG", "UG", "e.K.",
    "GbR", "SE", "S.A.S.", "SAS", "S.A.", "SA", "S.L.", "SL", "SARL", "S.à r.l.", "S.R.L.", "SRL", "S.p.A.",
    "SpA", "B.V.", "BV", "N.V.", "NV", "Ltd", "Limited", "L.L.C.", "LLC", "Inc", "Incorporated", "Corp",
    "Corporation", "Co", "Company", "PLC", "LLP", "LP", "Pty", "AB", "A/S", "AS", "Oy", "sp. z o.o.", "spzoo",
)  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _name_tokens(name: str) -> tuple[str, ...]:
    """Uppercase, German umlauts transliterated, other accents dropped, `&`/UND/AND/ET/Y as AND."""
    upper = unicodedata.normalize("NFC", name).upper().translate(_TRANSLITERATION)
    plain = _ascii_upper(_DROPPED.sub("", upper))
    tokens = _NOT_WORD.sub(" ", plain.replace("&", " & ")).split()
    return tuple(_CONNECTORS.get(token, token) for token in tokens)


# Legal forms by their first word, longest first: a name is scanned once, word by word.
_LEGAL_FORMS: dict[str, list[tuple[str, ...]]] = {}
for _form in sorted({_name_tokens(form) for form in _LEGAL_FORMS_WRITTEN}, key=len, reverse=True):
    _LEGAL_FORMS.setdefault(_form[0], []).append(_form)


def _without_legal_forms(tokens: Sequence[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(tokens):
        forms = _LEGAL_FORMS.get(tokens[index], ())
        form = next((f for f in forms if tuple(tokens[index : index + len(f)]) == f), None)
        if form is None:
            kept.append(tokens[index])
            index += 1
        else:
            index += len(form)
    while kept and kept[0] == "AND":
        kept.pop(0)
    while kept and kept[-1] == "AND":
        kept.pop()
    return kept


@functools.lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """The comparable form of a party name: "Müller GmbH & Co. KG" -> "MUELLER".

    Uppercase; Ä, Ö, Ü, ß as AE, OE, UE, SS (as German banks write them) and other accents dropped
    (É -> E); punctuation dropped; `&`, UND, AND, ET and Y become AND; legal forms (GmbH, AG, S.A., Ltd,
    sp. z o.o., ...) removed wherever they stand as whole words; spaces collapsed. A name that is nothing
    but a legal form keeps it.
    """
    tokens = _name_tokens(name)
    return " ".join(_without_legal_forms(tokens) or tokens)


TRUNCATION_MIN_LENGTH = 8
TRUNCATED_SCORE = 95.0
SUBSET_FACTOR = 0.9
"""token_set_ratio says 100 when one name's words are a subset of the other's ("ACME" in "ACME
HOLDING"): likely, not certain, so it counts 90 % of that."""


def name_score(payer: str, customer: str) -> float:
    """How well a payer's name fits a customer's, 0..100 (100: the same name once normalised).

    The best of: ratio and token_sort_ratio of the normalised names (spelling, word order: "MUELLER
    HANS" vs "Hans Müller" = 100), 90 % of their token_set_ratio (extra words), and 95 when the
    payer's name is a prefix of at least 8 characters of the customer's, with or without legal forms
    (banks cut names at 18, 27, 35 or 70 characters).
    """
    payer_name, customer_name = normalize_name(payer), normalize_name(customer)
    if not payer_name or not customer_name:
        return 0.0
    score = max(
        fuzz.ratio(payer_name, customer_name),
        fuzz.token_sort_ratio(payer_name, customer_name),
        SUBSET_FACTOR * fuzz.token_set_ratio(payer_name, customer_name),
    )
    payer_plain, customer_plain = " ".join(_name_tokens(payer)), " ".join(_name_tokens(customer))
    if any(
        len(cut) >= TRUNCATION_MIN_LENGTH and whole.startswith(cut)
        for cut, whole in ((payer_name, customer_name), (payer_plain, customer_plain))
    ):
        score = max(score, TRUNCATED_SCORE)
    return round(score, 2)


# --- amounts ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubsetResult:
    ids: tuple[int, ...] | None
    """The only combination summing to the target, ids sorted; None when none, several, or unknown."""
    ambiguous: bool
    """Two or more different combinations sum to the target."""
    exhausted: bool
    """The step budget ran out first: nothing can be said about uniqueness."""


def unique_subset(
    items: Sequence[tuple[int, int]], target: int, *, max_items: int = 6, max_steps: int = 200_000
) -> SubsetResult:
    """The one combination of 1..max_items open items (item_id, open_minor > 0) summing to `target`.

    Depth-first over the amounts sorted largest first; a branch is cut when even its largest remaining
    amounts cannot reach the rest of the target, or its smallest one overshoots it. The search stops at
    the second combination found (ambiguous) or after `max_steps` items tried (exhausted).
    """
    if target <= 0:
        raise ValueError(f"the target must be positive, not {target}")
    if max_items < 1 or max_steps < 1:
        raise ValueError("max_items and max_steps must be positive")
    if len({item_id for item_id, _ in items}) != len(items):
        raise ValueError("item ids must be unique")
    if any(amount <= 0 for _, amount in items):
        raise ValueError("open amounts must be positive")
    usable = sorted(
        ((amount, item_id) for item_id, amount in items if amount <= target), key=lambda p: (-p[0], p[1])
    )
    amounts = [amount for amount, _ in usable]
    negated = [-amount for amount in amounts]
    prefix = [0, *itertools.accumulate(amounts)]
    count = len(amounts)
    solutions: list[tuple[int, ...]] = []
    chosen: list[int] = []
    steps = 0

    def search(start: int, remaining: int) -> bool:
        """True when the search must stop (second solution, or budget spent)."""
        nonlocal steps
        slots = max_items - len(chosen)
        for index in range(bisect_left(negated, -remaining, lo=start), count):
            steps += 1
            if steps > max_steps:
                return True
            if prefix[min(count, index + slots)] - prefix[index] < remaining:
                return False  # the largest amounts left cannot reach it; later ones are smaller still
            amount = amounts[index]
            if amount == remaining:
                solutions.append(tuple(sorted(usable[i][1] for i in [*chosen, index])))
                if len(solutions) > 1:
                    return True
            elif slots > 1 and count and remaining - amount >= amounts[-1]:
                chosen.append(index)
                stop = search(index + 1, remaining - amount)
                chosen.pop()
                if stop:
                    return True
        return False

    search(0, target)
    if len(solutions) > 1:
        return SubsetResult(ids=None, ambiguous=True, exhausted=False)
    if steps > max_steps:
        return SubsetResult(ids=None, ambiguous=False, exhausted=True)
    return SubsetResult(ids=solutions[0] if solutions else None, ambiguous=False, exhausted=False)


# --- discounts ----------------------------------------------------------------------------------------


def discount_due(open_minor: int, total_minor: int, percent: Decimal, currency: str) -> int:
    """The early-payment discount in minor units: `percent` of the gross total, capped at what is open.

    Rounded half-up to the currency's minor unit, as the discount is printed on the invoice
    ("2 % Skonto = 23.80"). 2 % of 1,190.00 EUR -> 2380.
    """
    if percent < 0 or total_minor < 0:
        raise ValueError("a discount needs a non-negative percent and total")
    discount = (Money.from_minor(total_minor, currency) * (percent / Decimal(100))).round_half_up()
    return min(discount.to_minor(), max(open_minor, 0))


@dataclass(frozen=True, slots=True)
class DiscountPart:
    rate: Decimal
    gross_minor: int
    tax_minor: int
    net_minor: int


def discount_split(discount_minor: int, tax_lines: Sequence[tuple[Decimal, int, int]]) -> list[DiscountPart]:
    """A gross discount split over the invoice's tax rates, one part per (rate, base_minor, tax_minor).

    The gross discount is allocated by each rate's gross (base + tax) with the largest-remainder method,
    so the parts sum exactly to the discount; each part's VAT is gross × rate / (100 + rate), rounded
    half-up like the invoice's own tax; its net is the rest. No lines: no parts.
    """
    if not tax_lines:
        return []
    gross = [base + tax for _, base, tax in tax_lines]
    shares = allocate(discount_minor, gross)
    parts = []
    for (rate, _, _), share in zip(tax_lines, shares, strict=True):
        tax = (Decimal(share) * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        parts.append(
            DiscountPart(rate=rate, gross_minor=share, tax_minor=int(tax), net_minor=share - int(tax))
        )
    return parts


def discount_tax_correction(
    discount_minor: int, tax_lines: Sequence[tuple[Decimal, int, int]]
) -> list[tuple[Decimal, int]]:
    """The VAT part of a gross discount per rate: [(rate, tax_minor)] in the order of `tax_lines`.

    1,190.00 at 19 % (base 1,000.00, tax 190.00), discount 23.80 -> [(19, 380)]: VAT 3.80, net 20.00.
    """
    return [(part.rate, part.tax_minor) for part in discount_split(discount_minor, tax_lines)]


# --- confidence ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str
    """What was seen: "reference", "amount", "name", "rf_reference", ..."""
    weight: int
    """0..100: how sure this evidence alone would make the match."""
    text: str
    """Shown to the user: why the match was suggested."""

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 100:
            raise ValueError(f"evidence weight must be 0..100, not {self.weight}")


CONFIDENCE_QUANTUM = Decimal("0.001")


def confidence(evidence: Sequence[Evidence]) -> Decimal:
    """Independent evidence combined: 1 - Π(1 - weight/100), rounded half-up to 0.001.

    90 and 60 -> 1 - 0.1 × 0.4 = 0.960; nothing -> 0.000; any 100 -> 1.000.
    """
    doubt = Decimal(1)
    for item in evidence:
        doubt *= 1 - Decimal(item.weight) / 100
    return (1 - doubt).quantize(CONFIDENCE_QUANTUM, rounding=ROUND_HALF_UP)
