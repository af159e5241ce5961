"""Label and value patterns: loaded from the JSON data files, validated, compiled to spaCy.

The printed labels of the form live in ``patterns/labels.json`` and the value shapes (money,
dates, NAIC numbers, policy numbers) in ``patterns/values.json``, so a new form edition or
agency quirk is a data change.  A malformed file fails at load with the file and entry named.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import spacy
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from spacy.language import Language
from spacy.matcher import Matcher

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")


class PatternFileError(ValueError):
    pass


def norm(text: str) -> str:
    """The matching form of a token: lower case, letters and digits only."""
    return _NON_ALNUM.sub("", text.lower())


@dataclass(frozen=True)
class ValuePattern:
    id: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Patterns:
    nlp: Language
    labels: Matcher
    label_ids: frozenset[str]
    label_phrases: dict[str, list[list[str]]]  # id -> phrases as normalized words
    vocabulary: Vocabulary
    values: dict[str, ValuePattern]
    value_matcher: Matcher


def tolerance(word: str) -> int:
    """OCR misreads allowed in a label word: none for short words (a wrong "LOC" is another
    word), one from 4 letters, two from 8."""
    return 2 if len(word) >= 8 else 1 if len(word) >= 4 else 0


def _word_pattern(word: str) -> dict[str, Any]:
    # Tokens arrive already corrected to the label word they are closest to (canonical()),
    # so patterns match exactly: spaCy's FUZZY operators cost ~80 ms a page here.
    return {"NORM": word}


# Punctuation-only tokens ("&", "-", "(", ":") get this norm and may sit between words.
# (Not "": spaCy reads an empty norm as "no norm" and falls back to the text.)
PUNCT_NORM = "_p_"
_SKIP_PUNCT = {"NORM": PUNCT_NORM, "OP": "*"}


def _phrase_pattern(phrase: str) -> list[dict[str, Any]]:
    words = [norm(w) for w in phrase.split()]
    pattern: list[dict[str, Any]] = []
    for i, w in enumerate(words):
        if i:
            pattern.append(_SKIP_PUNCT)
        pattern.append(_word_pattern(w))
    return pattern


def _load(name: str) -> dict[str, Any]:
    ref = resources.files("extractors") / "patterns" / name
    try:
        data = json.loads(ref.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PatternFileError(f"{name}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise PatternFileError(f"{name}: the top level must be an object")
    return data


def _validate_labels(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    labels = data.get("labels")
    if not isinstance(labels, list) or not labels:
        raise PatternFileError("labels.json: 'labels' must be a non-empty list")
    for i, entry in enumerate(labels):
        where = f"labels.json: labels[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"id", "phrases", "_comment"}:
            raise PatternFileError(f"{where}: expected an object with 'id' and 'phrases'")
        lid = entry.get("id")
        if not isinstance(lid, str) or not _ID.match(lid):
            raise PatternFileError(f"{where}: id {lid!r} must be UPPER_SNAKE_CASE")
        if lid in seen:
            raise PatternFileError(f"{where}: duplicate id {lid}")
        seen.add(lid)
        phrases = entry.get("phrases")
        if not isinstance(phrases, list) or not phrases:
            raise PatternFileError(f"{where} ({lid}): 'phrases' must be a non-empty list")
        for p in phrases:
            if not isinstance(p, str) or not [w for w in p.split() if norm(w)]:
                raise PatternFileError(f"{where} ({lid}): phrase {p!r} has no words")
        out.append((lid, phrases))
    return out


def _validate_values(data: dict[str, Any]) -> dict[str, ValuePattern]:
    out: dict[str, ValuePattern] = {}
    values = data.get("values")
    if not isinstance(values, dict) or not values:
        raise PatternFileError("values.json: 'values' must be a non-empty object")
    for vid, spec in values.items():
        where = f"values.json: values.{vid}"
        if not _ID.match(vid) or not isinstance(spec, dict) or "regex" not in spec:
            raise PatternFileError(f"{where}: expected an UPPER_SNAKE_CASE id with a 'regex'")
        try:
            rx = re.compile(spec["regex"])
        except re.error as exc:
            raise PatternFileError(f"{where}: bad regex: {exc}") from exc
        out[vid] = ValuePattern(vid, rx)
    return out


class Vocabulary:
    """The words of all label phrases, and the closest of them to an OCR'd token."""

    def __init__(self, words: set[str]) -> None:
        self.words = sorted(words)
        self.exact = set(words)
        self._cache: dict[str, tuple[str, int]] = {}
        self._split_cache: dict[str, tuple[str, ...] | None] = {}

    def canonical(self, token: str) -> tuple[str, int]:
        """(label word, edits) when ``token`` is within a label word's tolerance, else
        (token, 0)."""
        if token in self.exact or not token:
            return token, 0
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        best, best_d = token, 99
        for cand, d, _ in process.extract_iter(token, self.words, scorer=Levenshtein.distance,
                                               score_cutoff=2):
            if d <= tolerance(cand) and (d < best_d or (d == best_d and cand < best)):
                best, best_d = cand, d
        out = (best, best_d if best != token else 0)
        if len(self._cache) < 50_000:
            self._cache[token] = out
        return out

    def pieces(self, token: str) -> list[str] | None:
        """A token OCR glued from two or three label words ("DISEASE-EAEMPLOYEE"), split
        into them, else None.  Only exact words of two letters or more, fewest pieces first:
        a value that happens to split is rarer than a label that lost its spaces."""
        # Before any near spelling: "eaemployee" is "ea employee", not a garbled "employee".
        if len(token) < 5 or token in self.exact:
            return None
        hit = self._split_cache.get(token)
        if hit is None and token not in self._split_cache:
            hit = self._split(token, 2) or self._split(token, 3)
            if len(self._split_cache) < 50_000:
                self._split_cache[token] = hit
        return list(hit) if hit else None

    def _split(self, token: str, n: int) -> tuple[str, ...] | None:
        if n == 1:
            return (token,) if token in self.exact else None
        for i in range(2, len(token) - 1):
            if token[:i] in self.exact:
                rest = self._split(token[i:], n - 1)
                if rest:
                    return (token[:i], *rest)
        return None


@lru_cache(maxsize=1)
def load() -> Patterns:
    nlp = spacy.blank("en")
    labels = Matcher(nlp.vocab)
    label_defs = _validate_labels(_load("labels.json"))
    for lid, phrases in label_defs:
        labels.add(lid, [_phrase_pattern(p) for p in phrases])
    values = _validate_values(_load("values.json"))
    value_matcher = Matcher(nlp.vocab)
    for vid, vp in values.items():
        value_matcher.add(vid, [[{"TEXT": {"REGEX": vp.regex.pattern}}]])
    return Patterns(
        nlp=nlp,
        labels=labels,
        label_ids=frozenset(lid for lid, _ in label_defs),
        label_phrases={
            lid: [[norm(w) for w in p.split() if norm(w)] for p in phrases]
            for lid, phrases in label_defs
        },
        vocabulary=Vocabulary({norm(w) for _, phrases in label_defs for p in phrases
                               for w in p.split() if norm(w)}),
        values=values,
        value_matcher=value_matcher,
    )
