"""A page as rows of words, a spaCy Doc over them, and the printed labels found in it.

Everything downstream addresses the page through labels (where "EACH OCCURRENCE" is printed)
and ruled lines, never through fixed coordinates: certificates come from dozens of agency
systems with their own fonts, offsets and scales.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from statistics import median

from spacy.tokens import Doc

from extractors.patterns import PUNCT_NORM, Patterns, Vocabulary, load, norm
from pipeline.types import BBox, PageContent, Rule, Word

SEP = "¦"  # a token between segments and rows, so no label phrase spans a gap
TAIL = "·"  # the token of a split word's second half (its norm is punctuation: skipped)


@dataclass(frozen=True)
class LabelHit:
    id: str
    words: tuple[Word, ...]
    edits: int  # total edit distance between the printed words and the phrase
    # Printed as a heading: first in its run of words (after at most a check mark).  A box
    # label is; the same words inside a disclaimer sentence are not.
    standalone: bool = True
    alone: bool = True  # nothing else in its run of words

    @cached_property
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
    def cx(self) -> float:
        b = self.bbox
        return (b[0] + b[2]) / 2

    @property
    def height(self) -> int:
        return max(w.height for w in self.words)


PLACE_EDITS = 99  # the edits of a LabelHit for a label OCR garbled, found by its place


def place_hit(lid: str, words: list[Word], bbox: BBox, page: int) -> LabelHit:
    """A label found by its place in the form: the garbled words read there, or, with none
    read, the place itself (a word with no text over ``bbox``)."""
    return LabelHit(lid, tuple(words) or (Word("", bbox, 1.0, page),), edits=PLACE_EDITS)


def _mark_like(text: str) -> bool:
    """A check mark or box debris, not a word: "X", "[x]", "✔", "|"."""
    core = "".join(c for c in text if c.isalnum()).lower()
    # OCR renders a check mark as "v", "wv", "J", "/" or "¥", and an X as "x" or "XX".
    return len(text) <= 3 and all(c in "xyvwjl1" for c in core)


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
    bands: list[tuple[float, float]] = []  # [y0, y1] of each row's first word
    for w in sorted(words, key=lambda w: (w.cy, w.x0)):
        placed = False
        for i in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            y0, y1 = bands[i]
            overlap = min(y1, w.y1) - max(y0, w.y0)
            # Overlapping by half, or centred within the row: a word OCR boxed a few
            # pixels low ("GENERAL" beside "LIABILITY") is still on it.
            if overlap > 0.5 * min(y1 - y0, w.height) or y0 <= w.cy <= y1:
                rows[i].append(w)
                placed = True
                break
        if not placed:
            rows.append([w])
            bands.append((float(w.y0), float(w.y1)))
    for r in rows:
        r.sort(key=lambda w: w.x0)
    rows.sort(key=lambda r: median(w.cy for w in r))
    return _join_split_rows(rows)


def _join_split_rows(rows: list[list[Word]]) -> list[list[Word]]:
    """Rows of one printed line that the first word's band split ("OFFICER/MEMBER", a small
    label, took "EA EMPLOYEE" while "E.L. DISEASE", a pixel lower, began a row): next rows
    whose words' median bands overlap by half, with no word of one above a word of the
    other (two lines of a label, "DAMAGE TO RENTED" over "PREMISES", stay two)."""
    out: list[list[Word]] = []
    for row in rows:
        if out and _same_line(out[-1], row):
            out[-1] = sorted(out[-1] + row, key=lambda w: w.x0)
        else:
            out.append(row)
    return out


def _same_line(a: list[Word], b: list[Word]) -> bool:
    a0, a1 = median(w.y0 for w in a), median(w.y1 for w in a)
    b0, b1 = median(w.y0 for w in b), median(w.y1 for w in b)
    if min(a1, b1) - max(a0, b0) <= 0.5 * min(a1 - a0, b1 - b0):
        return False
    return not any(min(u.x1, v.x1) > max(u.x0, v.x0) for u in a for v in b)


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

    def anchors(self, label: str, y0: float = -1, y1: float = 1e9, *, alone: bool = False
                ) -> list[LabelHit]:
        """Standalone hits of a label with their center between y0 and y1, top first.

        ``alone``: the label must be all of its run of words, as a box title ("PRODUCER")
        is, where the same words wrapped to the start of a sentence are followed by more.
        """
        return [h for h in self.hits.get(label, []) if h.standalone and y0 <= h.cy <= y1
                and (not alone or h.alone)]

    def anchor(self, label: str, y0: float = -1, y1: float = 1e9, *, alone: bool = False
               ) -> LabelHit | None:
        hits = self.anchors(label, y0, y1, alone=alone)
        return hits[0] if hits else None

    @property
    def label_words(self) -> set[int]:
        return {id(w) for hs in self.hits.values() for h in hs for w in h.words}

    def words_in(self, x0: float, y0: float, x1: float, y1: float) -> list[Word]:
        """Words whose center lies in the region."""
        return [w for w in self.page.words if x0 <= w.cx <= x1 and y0 <= w.cy <= y1]

    @cached_property
    def char_height(self) -> float:
        hs = [w.height for w in self.page.words if len(w.text) > 1]
        return median(hs) if hs else 30.0


@dataclass
class _Stream:
    """Tokens for the matcher: words of runs, a separator after each run."""

    tokens: list[str] = field(default_factory=list)
    words: list[Word | None] = field(default_factory=list)
    run_start: list[int] = field(default_factory=list)  # per token: first token of its run
    line: list[int] = field(default_factory=list)  # per token: 0 first line, 1 the next
    edits: list[int] = field(default_factory=list)  # per token: OCR edits to its label word
    vocabulary: Vocabulary | None = None

    def add(self, runs: list[list[Word]]) -> None:
        start = len(self.tokens)
        for n, run in enumerate(runs):
            tails = self._split_words(run)
            for i, w in enumerate(run):
                if i in tails:
                    texts: tuple[str, ...] | list[str] = (TAIL,)
                elif i + 1 in tails:
                    texts = (w.text + run[i + 1].text,)
                else:
                    # Label words OCR ran together are matched as the words they were.
                    pieces = self.vocabulary.pieces(norm(w.text)) if self.vocabulary else None
                    texts = pieces or (w.text,)
                for text in texts:
                    self.tokens.append(text)
                    self.words.append(w)
                    self.run_start.append(start)
                    self.line.append(n)
        self.tokens.append(SEP)
        self.words.append(None)
        self.run_start.append(len(self.tokens) - 1)
        self.line.append(0)

    def _split_words(self, run: list[Word]) -> set[int]:
        """Words that are the second half of a label word OCR split in two ("CANC ELLATION"):
        neither half a label word, the two together one, and no gap between them to speak
        of.  The pair is matched as one token; the second half's token is a TAIL."""
        voc = self.vocabulary
        tails: set[int] = set()
        if voc is None:
            return tails
        for i in range(len(run) - 1):
            a, b = run[i], run[i + 1]
            if i in tails or b.x0 - a.x1 > 0.6 * max(a.height, b.height):
                continue
            na, nb = norm(a.text), norm(b.text)
            if not na or not nb or na in voc.exact or nb in voc.exact:
                continue
            canon, _ = voc.canonical(na + nb)
            if len(canon) >= 6 and canon in voc.exact:
                tails.add(i + 1)
        return tails

    def doc(self, pats: Patterns) -> Doc:
        """A Doc whose token norms are corrected to the nearest label word (edits kept)."""
        doc = Doc(pats.nlp.vocab, words=self.tokens or [SEP])
        self.edits = [0] * len(doc)
        for i, tok in enumerate(doc):
            if tok.text == SEP:
                tok.norm_ = "|sep|"
                continue
            n = norm(tok.text)
            if not n:
                tok.norm_ = PUNCT_NORM
                continue
            canon, self.edits[i] = pats.vocabulary.canonical(n)
            tok.norm_ = canon
        return doc


def _below(seg: list[Word], segments_by_row: list[list[list[Word]]], row: int
           ) -> list[Word] | None:
    """The run printed right under ``seg``, starting at the same x: a label wrapped onto a
    second line in a narrow cell ("PERSONAL &" / "ADV INJURY")."""
    # A check mark before the label ("X" in its box) is taller than the label's small type
    # and reaches into the next line: the label's own words say where it ends.
    text = [w for w in seg if not _mark_like(w.text)] or seg
    h = max(w.height for w in text)
    for nxt in segments_by_row[row + 1: row + 3]:
        for t in nxt:
            gap = t[0].y0 - max(w.y1 for w in text)
            if -0.2 * h <= gap <= 0.8 * h and abs(t[0].x0 - text[0].x0) <= 1.5 * h:
                return t
    return None


_DEBRIS = set("—–-_=~.,'`|:;‘’\"¦°*^")


def is_debris(text: str) -> bool:
    """OCR of specks and leftover rule fragments: nothing but dashes, dots and bars."""
    return all(c in _DEBRIS for c in text)


def _part(w: Word, a: int, b: int) -> Word:
    """Characters a to b of an OCR word, boxed in proportion to its characters."""
    x0, y0, x1, y1 = w.bbox
    per = (x1 - x0) / len(w.text)
    return Word(w.text[a:b], (round(x0 + per * a), y0, round(x0 + per * b), y1), w.conf, w.page)


def _split_at_bar(w: Word) -> tuple[Word, ...]:
    """A bar inside a word is a rule OCR read between two words ("342|FAX"): split there."""
    k = w.text.find("|")
    if k <= 0 or k >= len(w.text) - 1 or "|" in w.text[k + 1:]:
        return (w,)
    return _part(w, 0, k), _part(w, k + 1, len(w.text))


def _unglue_mark(w: Word, vocabulary: Vocabulary) -> tuple[Word, ...]:
    """A checked box OCR glued to its option's label ("[XJEXCESS"): the mark and the label
    as two words, so the label is found and its box judged left of it."""
    text = w.text
    if norm(text) in vocabulary.exact:
        return (w,)  # a label word as it is ("LIABILITY" is no "L" + "IABILITY")
    # Misspelt as a whole ("XEXCESS" is one edit from EXCESS): split only off an exact word.
    near = vocabulary.canonical(norm(text))[0] in vocabulary.exact
    for k in (3, 2, 1):
        head, rest = text[:k], text[k:]
        core = norm(rest)
        if len(core) < 3 or not rest[:1].isupper() or not _mark_like(head) \
                or not any(c in "xXyYvV✓✔■" for c in head):
            continue
        if core not in vocabulary.exact and (
                near or vocabulary.canonical(core)[0] not in vocabulary.exact):
            continue
        return _part(w, 0, k), _part(w, k, len(text))
    return (w,)


def build_layout(page: PageContent, patterns: Patterns | None = None) -> PageLayout:
    pats = patterns or load()
    if page.source == "ocr":
        page.words = [part for w in page.words if not is_debris(w.text)
                      for piece in _split_at_bar(w)
                      for part in _unglue_mark(piece, pats.vocabulary)]
    hrules = [r for r in page.rules if r.horizontal]
    vrules = [r for r in page.rules if not r.horizontal]
    rows = group_rows(page.words)
    by_row = [split_segments(row, vrules) for row in rows]
    segments = [seg for segs in by_row for seg in segs]
    main, pairs = _Stream(vocabulary=pats.vocabulary), _Stream(vocabulary=pats.vocabulary)
    for r, segs in enumerate(by_row):
        for seg in segs:
            main.add([seg])
            nxt = _below(seg, by_row, r)
            if nxt is not None:
                pairs.add([seg, nxt])
    doc = main.doc(pats)
    layout = PageLayout(page, rows, segments, doc, main.words, hrules=hrules, vrules=vrules)
    raw = _matches(main, doc, pats, cross_line=False)
    if pairs.tokens:
        raw += _matches(pairs, pairs.doc(pats), pats, cross_line=True)
    layout.hits = _resolve(raw)
    return layout


def _matches(stream: _Stream, doc: Doc, pats: Patterns, *, cross_line: bool
             ) -> list[LabelHit]:
    out: list[LabelHit] = []
    for match_id, s, e in pats.labels(doc):
        lid = pats.nlp.vocab.strings[match_id]
        if cross_line and (stream.line[s] != 0 or stream.line[e - 1] != 1):
            continue  # only labels that really continue on the second line
        edits = sum(stream.edits[s:e])
        # The second half of a split word belongs to the label too.
        while e < len(stream.tokens) and stream.tokens[e] == TAIL:
            e += 1
        # A glued word gives several tokens: keep it once.
        words = tuple(dict.fromkeys(w for w in stream.words[s:e] if w is not None))
        if words[0].text.startswith(("-", "–")) or (s and stream.words[s - 1] is words[0]):
            # The end of a word: "-OWNED" or "IN-OWNED" is NON-OWNED with "NON" misread.
            continue
        before = stream.words[stream.run_start[s]:s]
        # A heading starts its run (after at most a check mark) and ends without sentence
        # punctuation: "PRODUCER," is prose.
        standalone = all(w is not None and _mark_like(w.text) for w in before) \
            and not words[-1].text.endswith((",", "."))
        if cross_line and not standalone:
            continue
        alone = standalone and stream.words[e] is None
        out.append(LabelHit(lid, words, edits, standalone, alone))
    return out


def _resolve(raw: list[LabelHit]) -> dict[str, list[LabelHit]]:
    """A hit inside a longer hit is part of that label ("AGGREGATE" within "GENERAL
    AGGREGATE"); on the same words, a closer spelling wins ("INSURER" is not "INSURED")."""
    keys = [frozenset(id(w) for w in h.words) for h in raw]
    hits: dict[str, list[LabelHit]] = {}
    seen: set[tuple[str, frozenset[int]]] = set()
    for i, h in enumerate(raw):
        k = keys[i]
        if (h.id, k) in seen:
            continue
        dominated = any(
            (k < keys[j]) or (k == keys[j] and raw[j].edits < h.edits)
            for j in range(len(raw)) if j != i
        )
        if not dominated:
            seen.add((h.id, k))
            hits.setdefault(h.id, []).append(h)
    for lst in hits.values():
        lst.sort(key=lambda h: (h.y0, h.x0))
    return hits
