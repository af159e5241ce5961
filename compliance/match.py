"""Which vendor a certificate belongs to, from the insured's name.

The insured's name on a certificate rarely matches the registry letter for letter: legal
suffixes come and go (``Acme Roofing, L.L.C.`` / ``ACME ROOFING LLC`` / ``Acme Roofing Inc``),
punctuation and ``&``/``and`` vary, a trade name follows ``DBA``, and OCR confuses ``l``/``1``,
``O``/``0``, ``rn``/``m``.  Names are normalized for all of that, then scored with rapidfuzz.

A certificate attaches on its own only when its name *is* the vendor's after normalizing, or
differs from it by one letter put for another in one word of five letters or more (a typo
or a misread letter: ``Roofinq``), with no other vendor close: a score alone cannot tell
``Johnston Construction`` from ``Johnson Construction`` or ``Smith Electrical`` from
``Smith Electric``, which are different companies as often as not.  Every other name that
scores at least ``REVIEW`` (a likely vendor, two close ones, a vendor's name plus more
words) goes to a reviewer instead of attaching silently: compliance decided for the wrong
vendor is worse than a question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

AUTO = 90.0  # the least score of an automatic attach (which also needs same_name)
REVIEW = 75.0  # at or above: ask a reviewer
MARGIN = 5.0  # the runner-up must trail the best by this much for an automatic attach

# Legal forms and filler words, removed wherever they stand as words (after punctuation is
# gone, so "L.L.C." is "llc" and "Co." is "co").
LEGAL_WORDS = frozenset(
    """llc lllp llp lp pllc plc pc pa inc incorporated corp corporation co company companies
    ltd limited the of""".split()
)
# Spelled out words some names use either way.
WORD_FORMS = {"and": "", "&": "", "bros": "brothers", "svc": "services", "svcs": "services",
              "service": "services", "mfg": "manufacturing", "intl": "international",
              "natl": "national", "assoc": "associates", "constr": "construction",
              "const": "construction", "mgmt": "management"}
# What OCR reads for what, applied to both sides before comparing.  Different names can
# fold to one ("B8"/"BB"); acceptable for company names, where such pairs are rare.
OCR_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "8": "b"})
_DBA = re.compile(r"\b(?:d\s*/?\s*b\s*/?\s*a|doing business as|t\s*/\s*a|aka|a\s*/\s*k\s*/\s*a)\b",
                  re.IGNORECASE)


def normalize_name(name: str) -> str:
    """The comparable form of a company name: ``Acme Roofing, L.L.C.`` -> ``acme roofing``."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"(?<=\b[a-z])\.(?=[a-z]\b)", "", text)  # l.l.c -> llc, before splitting
    text = re.sub(r"['\u2019`]", "", text)  # Mike's = Mikes
    text = text.replace("&", " & ")
    words = re.sub(r"[^\w&]+", " ", text).split()
    # "llc" keeps its letters through the fold; drop legal words before folding so "co" and
    # "inc" are still recognizable.
    kept = [WORD_FORMS.get(w, w) for w in words if w not in LEGAL_WORDS]
    return " ".join(w for w in kept if w)


@lru_cache(maxsize=65536)  # every vendor key is folded again for each certificate matched
def _folded(key: str) -> str:
    return key.translate(OCR_FOLD).replace("rn", "m").replace("vv", "w")


def name_variants(name: str) -> list[str]:
    """The name and, for ``X DBA Y``, each side on its own: a vendor may be registered under
    either the legal or the trade name."""
    parts = [p for p in _DBA.split(name) if p.strip()]
    keys = [normalize_name(name)] + ([normalize_name(p) for p in parts] if len(parts) > 1 else [])
    return [k for k in dict.fromkeys(keys) if k]


def score(a: str, b: str, **_: object) -> float:
    """0-100 for two normalized names (``**_``: rapidfuzz passes score_cutoff).

    Word order may differ (token sort).  A name whose words all appear in the other (``acme
    roofing`` in ``acme roofing siding``) is at least a question for a reviewer, never an
    automatic attach: scored just at REVIEW unless it is close anyway.
    """
    fa, fb = _folded(a), _folded(b)
    s = fuzz.token_sort_ratio(fa, fb)
    if s < REVIEW and min(len(fa.split()), len(fb.split())) >= 2 \
            and fuzz.token_set_ratio(fa, fb) == 100:
        s = REVIEW
    return float(s)


def same_name(a: str, b: str) -> bool:
    """Two normalized names that are one name: equal once folded, or (words in any order)
    one word of 5+ letters differs by one letter in place of another, and no digit does."""
    ta, tb = sorted(_folded(a).split()), sorted(_folded(b).split())
    if ta == tb:
        return True
    if len(ta) != len(tb):
        return False
    diff = [(x, y) for x, y in zip(ta, tb, strict=True) if x != y]
    if len(diff) != 1:
        # sorting may have put the misread word elsewhere: compare in the given order too
        ua, ub = _folded(a).split(), _folded(b).split()
        diff = [(x, y) for x, y in zip(ua, ub, strict=True) if x != y]
        if len(diff) != 1:
            return False
    x, y = diff[0]
    return (len(x) == len(y) >= 5 and sum(p != q for p, q in zip(x, y, strict=True)) == 1
            and not any(c.isdigit() for c in x + y))


@dataclass(frozen=True)
class Match:
    vendor_id: int | None  # the attached vendor, or the candidate to review
    state: str  # attached | review | unmatched
    score: float
    runner_up: float = 0.0


def match(insured_name: str | None, vendors: dict[int, str]) -> Match:
    """Match one insured name against ``vendors`` (id -> normalized key)."""
    if not insured_name or not vendors:
        return Match(None, "unmatched", 0.0)
    best: dict[int, float] = {}
    same: set[int] = set()
    folded = {vid: _folded(key) for vid, key in vendors.items()}
    for variant in name_variants(insured_name):
        # rapidfuzz's own scorers pick the few vendors that can reach REVIEW (fast, in C);
        # only those are scored here.
        fv = _folded(variant)
        near = {vid for _, _, vid in process.extract(
            fv, folded, scorer=fuzz.token_sort_ratio, score_cutoff=REVIEW, limit=None)}
        if len(fv.split()) >= 2:
            near |= {vid for _, _, vid in process.extract(
                fv, folded, scorer=fuzz.token_set_ratio, score_cutoff=100, limit=None)}
        for vid in near:
            s = score(variant, vendors[vid])
            best[vid] = max(best.get(vid, 0.0), s)
            if s >= AUTO and same_name(variant, vendors[vid]):
                same.add(vid)
    if not best:
        return Match(None, "unmatched", 0.0)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    vid, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if vid in same and top - second >= MARGIN:
        return Match(vid, "attached", top, second)
    if top >= REVIEW:
        return Match(vid, "review", top, second)
    return Match(None, "unmatched", top, second)
