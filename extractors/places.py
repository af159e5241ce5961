"""Addresses, and US states by ZIP code (its first three digits name its state).

The table is data (``patterns/zip3.json``: USPS sectional centers as ranges per state,
with the few prefixes that sit inside another state's range), validated at load like the
label patterns.  An address's state OCR garbled (``Naperville, TL 60526``, ``Columbus, 0-1
43267``) is its ZIP code's; a state and ZIP code that disagree mean one of them is misread.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from extractors.marks import MENDED_FIT, clean_text, strip_marks


class PlacesFileError(ValueError):
    """The ZIP code table is malformed."""


_RANGE = re.compile(r"^(\d{3})-(\d{3})$")
_PREFIX = re.compile(r"^\d{3}$")


def load_zip3(data: dict, states: frozenset[str]) -> dict[str, str]:
    """ZIP prefix -> state from the file's contents; PlacesFileError naming what is wrong."""
    table: dict[str, str] = {}
    for state, ranges in data.get("ranges", {}).items():
        if state not in states:
            raise PlacesFileError(f"zip3.json: {state!r} is no US state or territory")
        for r in ranges:
            m = _RANGE.match(r)
            if not m or m.group(1) > m.group(2):
                raise PlacesFileError(f"zip3.json: {state} range {r!r} is not 'NNN-NNN'")
            for n in range(int(m.group(1)), int(m.group(2)) + 1):
                prefix = f"{n:03d}"
                if prefix in table:
                    raise PlacesFileError(
                        f"zip3.json: {prefix} is in both {table[prefix]} and {state}")
                table[prefix] = state
    for prefix, state in data.get("exceptions", {}).items():
        if not _PREFIX.match(prefix) or state not in states:
            raise PlacesFileError(f"zip3.json: exception {prefix!r}: {state!r} is not valid")
        table[prefix] = state
    return table


US_STATES = frozenset("""
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP MH FM PW AA AE AP
""".split())


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    text = resources.files("extractors").joinpath("patterns/zip3.json").read_text()
    return load_zip3(json.loads(text), US_STATES)


def zip_state(zip_code: str) -> str | None:
    """The state a ZIP code (``60526`` or ``60526-1714``) is in, else None."""
    return _table().get(zip_code[:3]) if zip_code[:5].isdigit() else None


# The state before the ZIP code, a period OCR put after it left out ("ORLANDO. FL. 32805").
_STATE_ZIP = re.compile(r"\b([A-Za-z]{2})\.?\s+(\d{5}(?:-\d{4})?)$")
# A state OCR garbled past letters ("Columbus, 0-1 43267" for OH): two or three characters
# after the city's comma, neither all letters nor all digits (a suite number).
_GARBLED_STATE_ZIP = re.compile(
    r"(?<=, )((?=\S*[^A-Za-z\s])(?!\d+\s)[A-Za-z0-9|!:.\-]{2,3})\s+(\d{5}(?:-\d{4})?)$")


# Street and unit abbreviations as OCR misreads them (l read as i, y as v, K as R): none of
# these is a word of an address, the abbreviation is ("Bidg" accepted at 0.90 on a 150-dpi
# scan, "Bivd" and "PRWY" on faxes).
_ADDRESS_FIXES = {"bidg": "bldg", "bldq": "bldg", "bivd": "blvd", "biva": "blvd",
                  "pkwv": "pkwy", "prwy": "pkwy", "prkwy": "pkwy", "sulte": "suite"}
_ADDRESS_WORD = re.compile(r"[A-Za-z]+")


# A unit's letter OCR ran into its word ("BLDGA" for BLDG A, accepted at 0.91 on a
# rotated photo of seed 8484): no address word is spelled so.
_GLUED_UNIT = re.compile(r"\b(BLDG|Bldg|UNIT|Unit)([A-Z])\b")


def _fix_address_word(m: re.Match[str]) -> str:
    word = m.group(0)
    fixed = _ADDRESS_FIXES.get(word.lower())
    if fixed is None:
        return word
    if word.isupper():
        return fixed.upper()
    return fixed.capitalize() if word[0].isupper() else fixed


def parse_address(text: str) -> tuple[str | None, float]:
    """An address (extractors.normalize re-exports it); the state before the ZIP code is
    upper case whatever OCR made of it, and the ZIP code's where OCR garbled it; a state the
    ZIP code is not in fits less (one of them is misread)."""
    t = clean_text(text)
    if not t:
        return None, 0.0
    t, marked = strip_marks(_ADDRESS_WORD.sub(_fix_address_word, t))
    unglued = _GLUED_UNIT.sub(r"\1 \2", t)
    marked, t = marked or unglued != t, unglued
    m = _STATE_ZIP.search(t) or _GARBLED_STATE_ZIP.search(t)
    fit = MENDED_FIT if marked else 1.0
    if m:
        state, zstate = m.group(1).upper(), zip_state(m.group(2))
        if state not in US_STATES or (zstate and zstate != state):
            fit = min(fit, 0.8)  # not a state, or not the ZIP code's: something is misread
        if state not in US_STATES and zstate:
            state = zstate  # "Naperville, TL 60526": the ZIP code says IL
        if state in US_STATES:
            before = t[: m.start(1)].rstrip()
            if before.rstrip("\"' ") != before:  # a speck read as a quote before the state
                before, fit = before.rstrip("\"' "), min(fit, MENDED_FIT)
            # "City, ST 12345": OCR drops the comma often, and reads it as a period.
            if before and before[-1] == ".":
                before = before[:-1]
            if before and before[-1] != ",":
                before += ","
            t = (before + " " if before else "") + state + " " + m.group(2)
    return t, fit
