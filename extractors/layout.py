"""A page as rows of words, a spaCy Doc over them, and the printed labels found in it.

Everything downstream addresses the page through labels (where "EACH OCCURRENCE" is printed)
and ruled lines, never through fixed coordinates: certificates come from dozens of agency
systems with their own fonts, offsets and scales.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

from spacy.tokens import Doc

from extractors.patterns import Patterns, load, norm
from pipeline.types import BBox, PageContent, Rule, Word

SEP = "¦"  # a token between segments and rows, so no label phrase spans a gap


@dataclass(frozen=True)
class LabelHit:
    id: str
    words: tuple[Word, ...]
    edits: int  # total edit distance between the printed words and the phrase

    @property
    def bbox(self) -> BBox:
        return (
            min(w.x0 for w in self.words),
            min(w.y0 for w in self.words),
            max(w.x1 for w in self.words),
            max(w.y1 for w in self.words),
        )

    @property
    def x0(self) -> int:
        return self.bbox[0]

    @property
    def y0(self) -> int:
        return self.bbox[1]

    @property
    def x1(self) -> int:
        return self.bbox[2]

    @property
    def y1(self) -> int:
        return self.bbox[3]

    @property
    def cy(self) -> float:
        b = self.bbox
        return (b[1] + b[3]) / 2

    @property
    def height(self) -> int:
        return max(w.height for w in self.words)


def levenshtein(a: str, b: str) -> int:
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def group_rows(words: list[Word]) -> list[list[Word]]:
    """Words into rows by vertical overlap, each row sorted left to right."""
    rows: list[list[Word]] = []
    bands: list[list[float]] = []  # running [y0, y1] of each row's core
    for w in sorted(words, key=lambda w: (w.cy, w.x0)):
        placed = False
        for i in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            y0, y1 = bands[i]
            overlap = min(y1, w.y1) - max(y0, w.y0)
            if overlap > 0.5 * min(y1 - y0, w.height):
                rows[i].append(w)
                placed = True
                break
        if not placed:
            rows.append([w])
            bands.append([float(w.y0), float(w.y1)])
    for r in rows:
        r.sort(key=lambda w: w.x0)
    rows.sort(key=lambda r: median(w.cy for w in r))
    return rows


def split_segments(row: list[Word], vrules: list[Rule]) -> list[list[Word]]:
    """A row into runs of words printed together: a wide gap or a ruled line ends a run."""
    segs: list[list[Word]] = []
    for w in row:
        if segs:
            prev = segs[-1][-1]
            gap = w.x0 - prev.x1
            h = max(prev.height, w.height)
            crossed = any(
                prev.x1 - 2 <= r.x0 <= w.x0 + 2 and r.y0 <= min(prev.cy, w.cy) and
                r.y1 >= max(prev.cy, w.cy)
                for r in vrules
            )
            if gap <= 1.6 * h and not crossed:
                segs[-1].append(w)
                continue
        segs.append([w])
    return segs


@dataclass
class PageLayout:
    page: PageContent
    rows: list[list[Word]]
    segments: list[list[Word]]
    doc: Doc
    token_words: list[Word | None]
    hits: dict[str, list[LabelHit]] = field(default_factory=dict)
    hrules: list[Rule] = field(default_factory=list)
    vrules: list[Rule] = field(default_factory=list)

    def all(self, label: str) -> list[LabelHit]:
        return self.hits.get(label, [])

    def first(self, label: str) -> LabelHit | None:
        hits = self.hits.get(label)
        return hits[0] if hits else None

    @property
    def label_words(self) -> set[int]:
        return {id(w) for hs in self.hits.values() for h in hs for w in h.words}

    def words_in(self, x0: float, y0: float, x1: float, y1: float) -> list[Word]:
        """Words whose center lies in the region."""
        return [w for w in self.page.words if x0 <= w.cx <= x1 and y0 <= w.cy <= y1]

    @property
    def char_height(self) -> float:
        hs = [w.height for w in self.page.words if len(w.text) > 1]
        return median(hs) if hs else 30.0


def build_layout(page: PageContent, patterns: Patterns | None = None) -> PageLayout:
    pats = patterns or load()
    hrules = [r for r in page.rules if r.horizontal]
    vrules = [r for r in page.rules if not r.horizontal]
    rows = group_rows(page.words)
    segments: list[list[Word]] = []
    tokens: list[str] = []
    token_words: list[Word | None] = []
    for row in rows:
        for seg in split_segments(row, vrules):
            segments.append(seg)
            for w in seg:
                tokens.append(w.text)
                token_words.append(w)
            tokens.append(SEP)
            token_words.append(None)
    doc = Doc(pats.nlp.vocab, words=tokens or [SEP])
    for tok in doc:
        tok.norm_ = "|sep|" if tok.text == SEP else norm(tok.text)
    layout = PageLayout(page, rows, segments, doc, token_words, hrules=hrules, vrules=vrules)
    layout.hits = _find_labels(layout, pats)
    return layout


def _phrase_edits(norms: list[str], phrases: list[list[str]]) -> int | None:
    best: int | None = None
    for words in phrases:
        if len(words) != len(norms):
            continue
        d = sum(levenshtein(a, b) for a, b in zip(norms, words, strict=True))
        best = d if best is None else min(best, d)
    return best


def _find_labels(layout: PageLayout, pats: Patterns) -> dict[str, list[LabelHit]]:
    phrases = pats.label_phrases
    raw: list[tuple[str, int, int, int]] = []  # (id, start, end, edits)
    for match_id, start, end in pats.labels(layout.doc):
        lid = pats.nlp.vocab.strings[match_id]
        norms = [t.norm_ for t in layout.doc[start:end] if t.norm_]
        edits = _phrase_edits(norms, phrases[lid])
        if edits is None:
            continue
        raw.append((lid, start, end, edits))
    # A hit inside a longer hit is part of that label ("AGGREGATE" within "GENERAL
    # AGGREGATE"); on the same words, a closer spelling wins ("INSURER" is not "INSURED").
    kept: list[tuple[str, int, int, int]] = []
    for h in raw:
        _, s, e, d = h
        dominated = False
        for o in raw:
            if o is h:
                continue
            _, os_, oe, od = o
            if os_ <= s and e <= oe and (oe - os_) > (e - s):
                dominated = True
                break
            if (os_, oe) == (s, e) and od < d:
                dominated = True
                break
        if not dominated:
            kept.append(h)
    hits: dict[str, list[LabelHit]] = {}
    for lid, s, e, d in kept:
        words = tuple(w for w in layout.token_words[s:e] if w is not None)
        hits.setdefault(lid, []).append(LabelHit(lid, words, d))
    for lst in hits.values():
        lst.sort(key=lambda h: (h.y0, h.x0))
    return hits
