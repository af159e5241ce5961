"""Stray marks OCR reads into typed names and addresses, taken out again (on what was
read; a reviewer's typing is taken as typed: extractors.normalize.typed_parser_for).

A fax's specks and a scan's dust are read as punctuation beside the words they touch:
``BAY AREA' COMMERCIAL``, ``PROPERTY .MANAGEMENT``, ``Dallas, ", TX``, and a comma before
a company's suffix read as a period (``BROKERAGE. LLC``, ``SERVICES. INC.``; faxes of seeds
8181, 9292 and 7474).  What is mended was not read so: it fits at most MENDED_FIT, and
goes to a reviewer.
"""

from __future__ import annotations

import re

_WS = re.compile(r"\s+")


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def clean_text(text: str) -> str:
    """Collapse whitespace, straighten typographic quotes (OCR and word processors curl
    them at will) and trim edge debris (rule fragments read as | or _)."""
    text = _WS.sub(" ", text.translate(_QUOTES)).strip().strip(" |_¦:;,").strip()
    if text.count('"') == 1 and (text.startswith('"') or text.endswith('"')):
        text = text.strip('"').strip()  # a lone quote at an edge is a speck, not a quotation
    return text


MENDED_FIT = 0.85
# Marks that stand alone in a name as printed.
_STANDALONE = frozenset("&/+#")  # and dashes
# A company suffix after a full word and a period: the period is a comma misread.  Not after
# an abbreviation ("Bros. Inc."), which has four letters or fewer.
_SUFFIX_PERIOD = re.compile(
    r"\b(?!(?:ASSOC|CONSTR|CONTR|DISTR|EQUIP|INDUS|ENTERP|SERVS|SVCS|MGMT|INTL|NATL)\.)"
    r"([A-Za-z]{5,})\. (?=(?:LLC|L\.L\.C\.|INC|LLP|LTD|PLLC|LP|CORP)\b\.?)", re.IGNORECASE)
# A person's name does not end in a period, unless with an initial or Jr./Sr.
_NAME_END = re.compile(r"(?<=[A-Za-z]{3})\.$")
_KEEP_END = re.compile(r"\b(?:Jr|Sr|Esq|Dept|Mgr|Dir|Assoc|Inc|Co|Corp|Ltd)\.$", re.IGNORECASE)


def strip_marks(text: str) -> tuple[str, bool]:
    """``text`` without marks no typist puts there: a word of marks alone (not ``&``), a
    period, comma or quote before a word's letters, a quote after a word that is no plural
    possessive (``ARTISANS'`` keeps its own)."""
    out, changed = [], False
    for w in text.split(" "):
        if w and not any(c.isalnum() for c in w) and w not in _STANDALONE \
                and set(w) != {"-"}:
            if out and w.endswith(",") and not out[-1].endswith(","):
                out[-1] += ","  # 'Dallas ",' keeps the comma it stood for
            changed = True
            continue
        if len(w) > 5 and w[0] in ".," and w[1:].isalpha():
            w, changed = w[1:], True  # ".MANAGEMENT" (".NET" is a name)
        if len(w) > 3 and w[-1] == "'" and w[:-1].isalpha() and w[:-1].isupper() \
                and w[-2] not in "SN":
            w, changed = w[:-1], True  # "BAY AREA'" (not "ARTISANS'", "DUNKIN'")
        out.append(w)
    return " ".join(out), changed


def mend_name(text: str, person: bool = False) -> tuple[str, float]:
    """A company's or a person's name with stray marks out; (text, fit)."""
    t, changed = strip_marks(text)
    fixed = _SUFFIX_PERIOD.sub(r"\1, ", t)
    if person and _NAME_END.search(fixed) and not _KEEP_END.search(fixed):
        fixed = fixed[:-1]
    return fixed, (MENDED_FIT if changed or fixed != t else 1.0)
