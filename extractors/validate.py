"""Cross-field checks that raise or lower confidence, and the accepted/needs_review decision.

A value that fits its pattern can still be wrong; checks between fields catch much of that
(an expiration before its effective date is a misread digit).  A failed check never changes a
value: it lowers confidence and leaves a note for the reviewer.
"""

from __future__ import annotations

import datetime as dt
import re

from pipeline.record import field_family
from pipeline.types import FieldValue

# Confidence at or above which a field is accepted without review, per field family.
# Set from the reliability table of bench/accuracy.py on seed 7301 (every family's fields
# from 0.80 up were right, except parties and addresses, right from 0.90 up, and the long
# description, where a lost final period hides at 0.94) and checked on seeds 9901 and
# 5813, where policy numbers were wrong at 0.81 and 0.87 (O for 0, 1 for L): they keep
# the default (docs/benchmarks.md).  ADDL INSD / SUBR WVD marks read as a clean "Y", "X"
# or "N", with tesseract's low confidence for a lone letter, were right every time between
# 0.55 and 0.80 on seeds 2718, 5813, 6029, 7301, 8123 and 9901 (140 of 1,700 marks;
# below 0.55 garbled marks were wrong up to 1 in 2): they are accepted from 0.55.
# Policy numbers from 0.95: on seed 2207 those read at 0.90-0.95 were right 41 times of 43,
# the two wrong ones O for 0 (Y0F3 read YOF3 at 0.90, N0R8 read NOR8 at 0.91), and a wrong
# policy number is the costliest silent error (the one a claims department calls about).
# Families not listed use DEFAULT_THRESHOLD.
DEFAULT_THRESHOLD = 0.90
THRESHOLDS: dict[str, float] = {
    "certificate_date": 0.80,
    "insurer_names": 0.80,
    "insurer_naic": 0.80,
    "insurer_letters": 0.80,
    "policy_dates": 0.80,
    "limits": 0.80,
    "addl_subr": 0.55,
    "check_boxes": 0.80,
    "description_of_operations": 0.96,
    "policy_numbers": 0.95,
}

USUAL_LIMIT_STEP = 1000  # limits are round amounts: 1,000,000 not 1,000,070
# The leading figures of the amounts limits, deductibles and retentions are sold in:
# 1, 1.5, 2, 2.5, 3, 4, 5, 6 and 7.5 times a power of ten (5,000 ... 25,000,000).
USUAL_MANTISSAS = ("1", "15", "2", "25", "3", "4", "5", "6", "75")


def usual_limit(value: int) -> bool:
    return str(value).rstrip("0") in USUAL_MANTISSAS


def _lower(f: FieldValue | None, factor: float, note: str) -> None:
    if f is None:
        return
    f.confidence = round(f.confidence * factor, 4)
    f.notes.append(note)


def date_of(f: FieldValue | None) -> dt.date | None:
    """The field's ISO date, or None when it holds none."""
    if f is None or not isinstance(f.value, str):
        return None
    try:
        return dt.date.fromisoformat(f.value)
    except ValueError:
        return None


# Two dates of a policy read a year to the day apart, as policies run: each confirms the
# other, when each was read (not filled in from the other: extractors/policydates.py) with
# a confidence of PERIOD_FLOOR or more.  On 12 faxes of seed 8181, 32 of the 33 policy
# dates left for review were right, and the wrong one (2028 for 2025) was no year apart.
PERIOD_FLOOR = 0.3
PERIOD_CONFIDENCE = 0.85
PERIOD_NOTE = "a year to the day after the effective date, as policies run"


def _a_year_apart(eff_f: FieldValue | None, exp_f: FieldValue | None, eff: dt.date,
                  exp: dt.date) -> None:
    if eff_f is None or exp_f is None:
        return
    try:
        year_on = eff.replace(year=eff.year + 1)
    except ValueError:  # 29 February
        return
    if exp != year_on or min(eff_f.confidence, exp_f.confidence) < PERIOD_FLOOR:
        return
    if eff_f.notes or exp_f.notes:
        # Filled in from the other (FILLED_NOTE: no evidence of its own), or found doubtful
        # (an umbrella whose line is a guess): the pair proves nothing.
        return
    for f in (eff_f, exp_f):
        if f.confidence < PERIOD_CONFIDENCE:
            f.confidence = PERIOD_CONFIDENCE
            f.notes.append(PERIOD_NOTE)


def cross_check(fields: dict[str, FieldValue]) -> None:
    letters = {p.split(".")[1] for p in fields if p.startswith("insurers.") and p.endswith(".name")}
    cert_date = date_of(fields.get("certificate_date"))
    policies = {p.split(".")[1] for p in fields if p.startswith("policies.")}
    for key in policies:
        base = f"policies.{key}"
        eff_f, exp_f = fields.get(f"{base}.effective_date"), fields.get(f"{base}.expiration_date")
        eff, exp = date_of(eff_f), date_of(exp_f)
        if eff and exp:
            if exp <= eff:
                _lower(eff_f, 0.5, "expiration is not after effective date")
                _lower(exp_f, 0.5, "expiration is not after effective date")
            elif not 300 <= (exp - eff).days <= 1200:
                _lower(eff_f, 0.85, "policy period is not about a year")
                _lower(exp_f, 0.85, "policy period is not about a year")
            else:
                _a_year_apart(eff_f, exp_f, eff, exp)
        if cert_date and exp and exp < cert_date - dt.timedelta(days=400):
            _lower(exp_f, 0.8, "expired long before the certificate date")
        letter = fields.get(f"{base}.insurer")
        if letter is not None and letter.value not in letters:
            _lower(letter, 0.5, f"insurer {letter.value} is not in the insurer list")
        for path, f in fields.items():
            if not path.startswith(base + ".limits.") or not isinstance(f.value, int):
                continue
            if not 100 <= f.value <= 500_000_000:
                _lower(f, 0.4, "limit outside the plausible range")
            elif f.value % USUAL_LIMIT_STEP:
                _lower(f, 0.6, "not a usual limit amount")
            elif not usual_limit(f.value):
                # Limits are sold in round steps (500,000, 1,500,000); 106,000 is more
                # likely 100,000 with a speck read as a digit (a fax), 900,000 a 500,000
                # whose 5 a fax closed into a 9 (read so three times, and accepted).
                _lower(f, 0.8, "an unusual limit amount")
        occ = fields.get(f"{base}.limits.each_occurrence")
        agg = fields.get(f"{base}.limits.general_aggregate")
        if occ and agg and isinstance(occ.value, int) and isinstance(agg.value, int) \
                and agg.value < occ.value:
            _lower(agg, 0.6, "general aggregate below each occurrence")
            _lower(occ, 0.6, "general aggregate below each occurrence")


# Characters OCR produces from specks and broken glyphs, rare in real names and addresses.
_ODD_CHARS = set("™®©«»¥£€#*+~|\\{}[]^_=<>¢§¤°")
_CASE_OK = re.compile(r"^(?:[A-Z0-9][A-Z0-9'’.&/-]*|[A-Z]?[a-z0-9'’.&/]+|Ma?c[A-Z][a-z]+|"
                      r"O'[A-Z][a-z]+|[A-Z][a-z]+(?:-[A-Z][a-z]+)+|[a-z]+(?:-[a-z]+)*|"
                      r"[0-9]+[A-Za-z]{0,2})[.,;:]?$")
# "We-tbrook", "Dem-lition": a hyphen OCR made of a lost letter, inside a capitalized word.
_SPLIT_HYPHEN = re.compile(r"\b[A-Z][a-z]{0,2}-[a-z]")
_ABBREV_NO_DOT = re.compile(r"\b(?:Inc|INC|Corp|CORP|Ltd|LTD|Co)$")  # not CO: Colorado
# "CONTRACTORS. INC.": the comma before a company's legal form, its tail lost (a fax).
_PERIOD_FOR_COMMA = re.compile(r"[A-Za-z]{3,}\. (?:INC|Inc|LLC|LLP|LTD|Ltd|CORP|Corp|CO|Co|LP)\b")
TEXT_FAMILIES = {"parties", "addresses", "insurer_names", "description_of_operations"}
# "Contractors, inc." (accepted at 0.91, seed 8484): a capitalized name's legal form read
# in lower case, too short for the title rule's four letters.
_LOWER_FORM = re.compile(r"\b[A-Z][A-Za-z]*,? (?:inc|llc|co|corp|ltd)\b\.?")
# "L1.C", "C0MPANY": a digit between letters of a word (a name's, not an address's: "Bldg
# A1"); "KEYSTONE RISK PARTNERS L1.C" was accepted at 0.93 on a fax of seed 7474.
_DIGIT_IN_WORD = re.compile(r"^[A-Za-z.]*[A-Za-z]\.?[0-9]+\.?[A-Za-z][A-Za-z.]*$")


def text_plausibility(text: str, *, title: bool = False, name: bool = False
                      ) -> tuple[float, str | None]:
    """How much an OCR'd name or address looks like one (1.0) rather than a misread.

    Tesseract is confidently wrong about single characters; what it then produces rarely
    looks like real text: "mILL", "We-tbrook", "Cr™™ercial", "Inc" for "Inc.".
    """
    factor, why = 1.0, None
    if any(c in _ODD_CHARS for c in text):
        factor, why = factor * 0.6, "unusual characters"
    for word in text.split():
        core = word.strip(",;:()\"")
        if core and not _CASE_OK.match(core):
            factor, why = factor * 0.7, f"odd letter case in {core!r}"
            break
    if _SPLIT_HYPHEN.search(text):
        factor, why = factor * 0.75, "a hyphen splitting a word"
    if _ABBREV_NO_DOT.search(text.rstrip()):
        factor, why = factor * 0.85, "an abbreviation without its period"
    if _PERIOD_FOR_COMMA.search(text):
        factor, why = factor * 0.8, "a period where the comma before a legal form belongs"
    if name and any(_DIGIT_IN_WORD.match(w.strip(",;:()\"")) for w in text.split()):
        factor, why = factor * 0.8, "a digit among a word's letters"
    if name and _LOWER_FORM.search(text):
        factor, why = factor * 0.8, "a legal form in lower case after capitals"
    if title:
        # A name or address in Title Case with one word in lower case: its capital was
        # misread ("pennsylvania Manufacturers", "indianapolis").
        words = [w.strip(",.;:()") for w in text.split()]
        capitals = sum(w[:1].isupper() for w in words)
        # A lower-case first word before a capitalized one ("sarah Thompson") too.
        first_low = len(words) >= 2 and words[0].isalpha() and words[0].islower() \
            and len(words[0]) >= 3 and words[1][:1].isupper()
        if capitals >= 2 or first_low:
            shortest = 3 if first_low else 4
            low = next((w for w in words if len(w) >= shortest and w.isalpha()
                        and w.islower()), None)
            if low:
                factor, why = factor * 0.7, f"{low!r} in lower case among capitals"
    return factor, why


_GLUED_NUMBER = re.compile(r"^\d+[A-Za-z]\s")
_EXT_LOST = re.compile(r"\s(?:ext|extension)\b\W*$", re.IGNORECASE)


def plausibility(fields: dict[str, FieldValue], ocr_pages: set[int]) -> None:
    """Lower the confidence of OCR'd text that does not look like text."""
    for path, f in fields.items():
        family = field_family(path)
        if f.page not in ocr_pages or family not in TEXT_FAMILIES:
            continue
        if path.endswith((".phone", ".fax")) and _EXT_LOST.search(f.raw):
            # "404.976.0903 Ext" and no digits: the extension was printed and not read (its
            # digits merged into the next label across the rule, "174[FAX"; accepted at
            # 0.91 without them, a fax of seed 4545).
            _lower(f, 0.6, "looks misread: an extension named and not read")
            continue
        if family == "addresses" and isinstance(f.value, str) \
                and _GLUED_NUMBER.match(f.value):
            # A speck read as a letter against the street number ("5785S WASHINGTON
            # STREET", agreed on by a second read and accepted, seed 5858).
            _lower(f, 0.85, "looks misread: a letter run into the street number")
        if not isinstance(f.value, str) or "@" in f.value:
            continue
        factor, why = text_plausibility(f.value, title=family != "description_of_operations",
                                        name=family in ("parties", "insurer_names"))
        if why:
            _lower(f, factor, f"looks misread: {why}")


def assign_status(fields: dict[str, FieldValue]) -> None:
    for path, f in fields.items():
        threshold = THRESHOLDS.get(field_family(path), DEFAULT_THRESHOLD)
        f.status = "accepted" if f.confidence >= threshold else "needs_review"
