"""Turn printed text into record values (spec: ISO dates, integer dollars, booleans).

Each normalizer returns ``(value, fit)``: the value or None, and how well the text fit the
expected shape (1.0 clean; lower when OCR look-alikes had to be repaired).  The review page
calls the same functions on what a reviewer types, so a date typed ``3/4/26`` is stored
``2026-03-04`` exactly as if it had been read.
"""

from __future__ import annotations

import datetime as dt
import re

from extractors.marks import clean_text, mend_name
from extractors.places import parse_address

# Characters OCR confuses with digits, in a context where only digits make sense.
DIGIT_LOOKALIKES = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
     "!": "1", "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "G": "6", "g": "9"}
)

def _digits_fixed(text: str) -> tuple[str, bool]:
    fixed = text.translate(DIGIT_LOOKALIKES)
    return fixed, fixed != text


# A colon or a comma is a slash a fax or a coarse scan broke ("02:18:27", "09,27:2024").
_DATE = re.compile(r"^(\d{1,2})[/.\-:,](\d{1,2})[/.\-:,](\d{4}|\d{2})$")


def parse_date(text: str) -> tuple[str | None, float]:
    """'03/14/2026', '3/14/26', '03-14-2026' -> '2026-03-14'."""
    t = clean_text(text).replace(" ", "")
    fit = 1.0
    m = _DATE.match(t)
    if not m:
        fixed, changed = _digits_fixed(t)
        m = _DATE.match(fixed)
        if not m:
            # A separator lost ("03/212025", "05152025", "021826", "0519-26": a fax's
            # thin slashes): eight or six digits in the form's order, with what is left
            # of the separators, never as sure as a date read whole.
            m = _DATE_RUN.match(fixed) or _SLASH_AS_DIGIT.match(fixed)
            if not m:
                return None, 0.0
            changed = True
        fit = 0.75 if changed else fit
    if ":" in t or "," in t:
        fit = min(fit, 0.9)  # a broken slash: the digits are still well apart
    mm, dd, year = (g for g in m.groups() if g is not None)
    month, day = int(mm), int(dd)
    y = int(year)
    if len(year) == 2:
        y += 2000 if y < 70 else 1900
        fit = min(fit, 0.95)
    if not 1980 <= y <= 2100:
        return None, 0.0
    try:
        return dt.date(y, month, day).isoformat(), fit
    except ValueError:
        return None, 0.0


# One slash of a full date read as the digit it looks like ("08/1572026").
_SLASH_AS_DIGIT = re.compile(r"^(\d{2})/(\d{2})[17](\d{4})$|^(\d{2})[17](\d{2})/(\d{4})$")
_DATE_RUN = re.compile(r"^(\d{2})[/.\-:,]?(\d{2})[/.\-:,]?(\d{4}|\d{2})$")
_MONEY = re.compile(r"^\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?$")
_MONEY_SHORT = re.compile(r"^\$?(\d+(?:\.\d+)?)([MK])$", re.IGNORECASE)
_CUT_SHORT = re.compile(r"\d,\s*$")  # an amount ending in its thousands separator


def parse_money(text: str) -> tuple[int | None, float]:
    """'$1,000,000', '1000000', '$ 1,000,000.00', '$1M' -> 1000000."""
    if _CUT_SHORT.search(text):
        # "1,000," is 1,000,000 whose last group OCR lost (read at 0.96 on a 150-dpi scan),
        # not 1,000: no value, so the cell is read again alone.
        return None, 0.0
    parts = clean_text(text).split()
    lost_dollar = (len(parts) == 2 and len(parts[0]) == 1 and parts[0] != "$"
                   and "," in parts[1] and _MONEY.match(parts[1]) is not None)
    if lost_dollar:
        # "$ 1,000,000" with its "$" read as "3", "5" or "S": not 31,000,000.
        parts = parts[1:]
    # The form's "$" beside a typed "$1,000,000" reads "$$1,000,000": one sign.
    t = re.sub(r"^\$+", "$", "".join(parts))
    if not t:
        return None, 0.0
    if re.match(r"^[Ss]\d", t):
        # "S1M", "S500,000": the "$" read as the letter it looks like.
        value, fit = parse_money("$" + t[1:])
        return value, min(fit, 0.9)
    if lost_dollar:
        value, fit = parse_money(t)
        return value, min(fit, 0.8)
    m = _MONEY_SHORT.match(t)
    fit = 0.95
    if not m and t.startswith("$") and (
            m := _MONEY_SHORT.match("$" + _digits_fixed(t[1:-1])[0] + t[-1:])):
        fit = 0.7  # "$IM", "$lM": the 1 read as the letter it looks like
    if m:
        mult = 1_000_000 if m.group(2).upper() == "M" else 1_000
        value = int(round(float(m.group(1)) * mult))
        return (value, fit) if value >= MIN_AMOUNT else (None, 0.0)  # "$OK" is no 0
    fit = 1.0
    m = _MONEY.match(t)
    if not m:
        # OCR reads a comma as a period ("1.000,000") or a letter for a digit.
        fixed, changed = _digits_fixed(t)
        fixed = re.sub(r"(?<=\d)\.(?=\d{3}(\D|$))", ",", fixed)
        m = _MONEY.match(fixed)
        if not m:
            return None, 0.0
        # Commas read as periods alone leave every digit as read, in groups of three (a
        # fax's commas lose their tails): a lighter repair than a letter for a digit.
        fit = 0.7 if changed else 0.9
    cents = m.group(2)
    if cents and cents != "00":
        fit = min(fit, 0.8)
    value = int(m.group(1).replace(",", ""))
    if value < MIN_AMOUNT:
        # A lone digit is a speck or the wreck of an amount, never a limit: not a value,
        # and not proof that a policy is printed there.
        return None, 0.0
    return value, fit


MIN_AMOUNT = 100


_PHONE_DIGITS = re.compile(r"\d")
_EXT = re.compile(r"(?:ext\.?|x|extension)\s*[:.]?\s*(\d{1,6})\s*$", re.IGNORECASE)


def parse_phone(text: str) -> tuple[str | None, float]:
    """'215-555-0142 Ext 12' -> '(215) 555-0142 x12'."""
    t = clean_text(text)
    if not t:
        return None, 0.0
    ext = None
    m = _EXT.search(t)
    if m:
        ext = m.group(1)
        t = t[: m.start()]
    digits = "".join(_PHONE_DIGITS.findall(t.translate(DIGIT_LOOKALIKES)))
    fit = 1.0 if digits == "".join(_PHONE_DIGITS.findall(t)) else 0.7
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return None, 0.0
    out = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return (f"{out} x{ext}" if ext else out), fit


def parse_naic(text: str) -> tuple[str | None, float]:
    t = clean_text(text).replace(" ", "")
    if re.fullmatch(r"\d{5}", t):
        return t, 1.0
    fixed, _ = _digits_fixed(t)
    if re.fullmatch(r"\d{5}", fixed):
        return fixed, 0.7
    return None, 0.0


_LETTER_LOOKALIKES = {"8": "B", "0": "D", "€": "E", "4": "A", "6": "C", "(": "C"}


def parse_insurer_letter(text: str) -> tuple[str | None, float]:
    t = clean_text(text).upper().strip(".:,;'\"")
    if t in ("A", "B", "C", "D", "E", "F"):
        return t, 1.0
    if t in _LETTER_LOOKALIKES:
        return _LETTER_LOOKALIKES[t], 0.6
    return None, 0.0


_TRUE_MARKS = {"X", "Y", "YES", "✓", "✔", "✗", "✘", "■", "☒", "☑", "●", "V", "/"}
_FALSE_MARKS = {"N", "NO", ""}


def parse_flag(text: str) -> tuple[bool | None, float]:
    """ADDL INSD / SUBR WVD and Y/N boxes: Y or X -> True; blank or N -> False."""
    t = clean_text(text).upper().replace(" ", "").rstrip(".")
    if len(t) == 2 and t[0] == t[1] and t[0] in "XY":
        t = t[0]  # a bold mark read twice ("xX")
    if t == "¥":
        return True, 0.9  # a check mark as tesseract reads it (12 of 12 on four seeds)
    if t in _TRUE_MARKS:
        return True, 1.0 if t in ("X", "Y", "✓", "✔") else 0.8
    if t in _FALSE_MARKS:
        return False, 1.0
    if t in ("N/A", "NA"):
        return False, 1.0
    if t.startswith("N/"):
        return False, 0.9  # "N/A" with its A lost (5 of 5 were N/A on four seeds)
    return None, 0.0


_POLICY_OK = re.compile(r"^[A-Z0-9][A-Z0-9\- /.]*[A-Z0-9]$")


# Characters OCR reads as each other across letters and digits (0/O/D/Q/U, 1/I/l, 2/Z,
# 5/S, 6/G, 8/B, 9/g).
_CONFUSABLE = frozenset("0125689ODQUIlZSGBg")


def settled_policy_number(text: str) -> bool:
    """Whether nothing in a policy number is a letter-or-digit guess: no confusable
    character in a part mixing letters and digits ("BA0V4", "XL5F7": the font alone tells
    O from 0 there, and two reads agreed on the wrong one as often as not), no letter O
    anywhere (a 0 or a C read so: "CUP0K0" read "CUPOKO", "CGL" read "OGL", both agreed
    on by a second read and accepted, seeds 6868 and 5353), and no lower case (policy
    numbers are printed in capitals).  "CPP 81-5136470-84" is settled."""
    if "O" in text:
        return False
    for part in re.split(r"[\s\-./]+", text):
        if any(c.islower() for c in part):
            return False
        mixed = any(c.isalpha() for c in part) and any(c.isdigit() for c in part)
        if mixed and any(c in _CONFUSABLE for c in part):
            return False
    return True


def parse_policy_number(text: str) -> tuple[str | None, float]:
    t = clean_text(text)
    if not t:
        return None, 0.0
    fit = 1.0
    # A fax's hyphen read as "~" or ":" ("EXC-9089160~78", "UB 12-2663842:88"): neither
    # is printed in policy numbers; the hyphen is, and never as sure as one read so.
    mended = re.sub(r"(?<=[A-Za-z0-9])[~:](?=[A-Za-z0-9])", "-", t)
    if "-" in mended:  # so is a period among hyphens ("BAP 24-3955036.37", seed 7474)
        mended = re.sub(r"(?<=\d)\.(?=\d)", "-", mended)
    if mended != t:
        t, fit = mended, 0.8
    if not _POLICY_OK.match(t.upper()) or not re.search(r"\d", t):
        fit = 0.5
    if len(t.replace(" ", "")) < 5:
        fit = min(fit, 0.5)
    return t, fit


_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


# What is left of the "E-MAIL ADDRESS:" label when OCR glues it to the address.
_EMAIL_LABEL = re.compile(r"^(?:e-?mail)?address[.:_;,]+", re.IGNORECASE)


def parse_email(text: str) -> tuple[str | None, float]:
    t = clean_text(text).replace(" ", "")
    if not t:
        return None, 0.0
    fit = 1.0
    if _EMAIL_LABEL.match(t) and "@" in t:
        # "address.certificates@..." (read so three times on a fax, and accepted): the
        # label's remnant, not the mailbox's name; taken off, and never accepted as read.
        t, fit = _EMAIL_LABEL.sub("", t), 0.8
    return t.lower(), (fit if _EMAIL.match(t) else 0.4)


def parse_text(text: str) -> tuple[str | None, float]:
    t = clean_text(text)
    return (t, 1.0) if t else (None, 0.0)


# Words carriers' names are made of.  OCR loses the space after a lone "A" ("ACUITY, A
# MUTUAL INSURANCE COMPANY" read "ACUITY, AMUTUAL ...", accepted at 0.89-0.91 on three
# scans of seeds 5151 and the e2e set): "A" glued to one of these is split off again.
CARRIER_WORDS = frozenset("""
insurance company mutual casualty fire indemnity surety assurance specialty national
american general liability property underwriters group corporation association
reciprocal exchange lloyds guaranty guarantee security standard state county city
""".split())


# "INSURER A :" ending in the name's cell: its letter and colon ("A: EVANSTON INSURANCE
# COMPANY", accepted at 0.84 on an upside-down sheet).  No carrier's name starts so.
_LETTER_REMNANT = re.compile(r"^[A-F]\s*:\s*(?=\S)")


def parse_name(text: str) -> tuple[str | None, float]:
    """A company's name, stray marks out (extractors/marks.py)."""
    t = clean_text(text)
    return mend_name(t) if t else (None, 0.0)


# The "CONTACT NAME:" label's end glued to the name ("NAME:-Maria Schultz", seed 5656).
_CONTACT_LABEL = re.compile(r"^(?:CONTACT\s*)?NAMES?\s*[:;.\-]+\s*-?\s*(?=[A-Za-z])",
                            re.IGNORECASE)


def parse_contact(text: str) -> tuple[str | None, float]:
    """A person's name, stray marks, a glued label and a trailing period out."""
    t = clean_text(text)
    stripped = _CONTACT_LABEL.sub("", t) if t else t
    if not stripped:
        return None, 0.0
    value, fit = mend_name(stripped, person=True)
    return value, fit if stripped == t else min(fit, 0.85)


def parse_insurer_name(text: str) -> tuple[str | None, float]:
    t, fit = parse_name(text)
    if t is None:
        return t, fit
    if _LETTER_REMNANT.match(t):
        t, fit = _LETTER_REMNANT.sub("", t), min(fit, 0.85)
    words = t.split(" ")
    for i, w in enumerate(words):
        core = w.rstrip(",.")
        if len(core) > 3 and core[0] in "Aa" and core[1:].lower() in CARRIER_WORDS:
            words[i] = f"{w[0]} {w[1:]}"
            fit = min(fit, 0.85)  # mended, not read: worth a look
    return " ".join(words), fit


_FLAGS = ("additional_insured", "subrogation_waived", "per_statute", "proprietor_excluded")


_PERIOD_GROUP = re.compile(r"(?<=\d)\.(?=\d{3}(?!\d))")


def parse_limit_text(text: str) -> tuple[str | None, float]:
    """An "other" row's limits, printed words and all ("Each Claim $2,000,000"), with the
    thousands separators a fax turned into periods put back ("$2.000.000")."""
    value, fit = parse_text(text)
    if value is None:
        return None, 0.0
    fixed = _PERIOD_GROUP.sub(",", value)
    return fixed, (min(fit, 0.9) if fixed != value else fit)


def typed_parser_for(path: str):  # -> Callable[[str], tuple[Any, float]] | None
    """The normalizer of what a reviewer types at ``path``: ``parser_for``'s, except that
    names, contacts and policy numbers are taken as typed (clean text), not mended as OCR
    readings are (a reviewer's ``Dunkin' Brands`` or ``ABC-123.45`` is what is printed)."""
    parse = parser_for(path)
    if parse in (parse_name, parse_contact, parse_insurer_name, parse_policy_number):
        return parse_text
    return parse


def parser_for(path: str):  # -> Callable[[str], tuple[Any, float]] | None
    """The normalizer of a record path (the review page and the second read use it), or None
    for values that are not typed text (check-box choices, lists)."""
    last = path.rsplit(".", 1)[-1]
    if path == "certificate_date" or last in ("effective_date", "expiration_date"):
        return parse_date
    if path.startswith("policies.other") and last == "limit":
        return parse_limit_text
    if path.startswith("policies.other") and last == "description":
        return parse_text  # the row's printed words, whatever they are
    if ".limits." in path or last == "retention":
        return parse_money
    if last in ("phone", "fax"):
        return parse_phone
    if last == "naic":
        return parse_naic
    if path.startswith("policies.") and last == "insurer":
        return parse_insurer_letter
    if last in _FLAGS:
        return parse_flag
    if last == "policy_number":
        return parse_policy_number
    if last == "email":
        return parse_email
    if last == "address":
        return parse_address
    if path.startswith("insurers.") and last == "name":
        return parse_insurer_name
    if last == "contact":
        return parse_contact
    if last == "name":
        return parse_name
    if path == "description_of_operations":
        return parse_text
    return None
