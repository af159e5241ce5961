"""Letters and digits OCR takes for each other in a policy number, told apart by width.

In the faces certificates are typed in, a round capital (O, D, Q) and B, G and A are a good
deal wider than the digit OCR takes them for (0, 8, 6, 4), while the digits 2-9 are about
one width (tabular figures).  A scan read ``BAOV4`` where ``BA0V4`` is printed: its 0 is as
wide as its 4, and an O would be a third wider.  (The reference digits are 2-7 and 9: 8
is B's look-alike, 0 O's.)  So a policy number's glyphs are cut apart
where no ink crosses a column, and when there are as many as OCR read characters, each
letter-or-digit guess is weighed against the word's own digits.  On the scans and faxes of
seeds 3102 and 8181 a 0 measured 0.92-1.07 of the word's other digits, and the letters
1.12 or more (O, D, G, B at 1.24-1.38); a helper's renders of the generator's faces found
Helvetica's B at 1.10-1.18 and Times' 4 at up to 1.22, so only what is clearly one or the
other is decided, and a mended number always goes to review.

OCR also reads one glyph as both ("BA7X0O", "UL0S570", "H7GB8"): one glyph fewer than the
characters, where a look-alike pair stands, is that pair's one glyph.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from statistics import median

import numpy as np

from extractors.fields import INK_GRAY
from pipeline.types import PageContent, Word

# Letter -> the digit it is taken for, or the other way round; told apart by width.
TWINS = {"O": "0", "D": "0", "Q": "0", "B": "8", "G": "6", "A": "4"}
DIGITS = {"0", "8", "6", "4"}
# A digit glyph measures up to DIGIT_MAX of the word's other digits, a letter LETTER_MIN
# or more; between them nothing is decided.
DIGIT_MAX = 1.05
LETTER_MIN = 1.25
# A round capital read for a 0 (O, D, Q) measured 1.24 or more, and a 0 up to 1.07 (a
# rotated scan's "CGLON3 2026": its O 15 pixels beside digits of 14 and 15, left
# undecided at 1.05): a 0 is decided up to ROUND_DIGIT_MAX when OCR read it round.
ROUND_DIGIT_MAX = 1.12
_ROUND = frozenset("ODQ")
# A number whose text the glyphs changed (letters, digits or spaces) was mended, not read:
# under the policy-number threshold, for a reviewer.  Helvetica's B and Times' 4 and 0
# measure 1.10-1.22 of the other digits at some sizes: the margin is thin.
MENDED_CONF = 0.85
# A digit glyph this wide is a letter OCR read as a digit: the number's confidence is held
# under POLICY_READ_FLOOR (pipeline/verify.py, 0.3), so no second read can accept it.
WIDE_DIGIT_CONF = 0.25
_REF = frozenset("2345679")
# No glyph is this much wider than a digit (W is 1.8-1.9): two touching glyphs are.
MERGED = 2.0
_LETTER_OF = {"8": "B", "6": "G", "4": "A"}  # a wide 0 is O, D or Q: not decided


def glyph_spans(image: np.ndarray, bbox: tuple[int, int, int, int],
                offset: tuple[int, int] = (0, 0)) -> list[tuple[int, int]]:
    """Where a box's glyphs lie (page x, start and end), cut where no ink crosses a pixel
    column; specks left out."""
    dx, dy = offset
    x0, y0, x1, y1 = (int(v) for v in bbox)
    crop = image[max(0, y0 + dy):max(0, y1 + dy), max(0, x0 + dx):max(0, x1 + dx)]
    if crop.size == 0:
        return []
    cols = (crop < INK_GRAY).sum(axis=0)
    runs, start = [], None
    for i, c in enumerate(list(cols) + [0]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            runs.append((start, i, int(cols[start:i].sum())))
            start = None
    if not runs:
        return []
    typical = median(r[2] for r in runs)
    base = max(0, x0 + dx) - dx
    return [(base + a, base + b) for a, b, n in runs if not (b - a <= 3 and n < 0.08 * typical)]


def glyph_widths(image: np.ndarray, word: Word, offset: tuple[int, int] = (0, 0)
                 ) -> list[int]:
    """Widths of the word's glyphs (``glyph_spans``)."""
    return [b - a for a, b in glyph_spans(image, word.bbox, offset)]


def _decide(ch: str, ratio: float) -> str | None:
    """The character a look-alike glyph is by its width (None: not decided)."""
    if ch in TWINS and ratio <= (ROUND_DIGIT_MAX if ch in _ROUND else DIGIT_MAX):
        return TWINS[ch]
    if ch in _LETTER_OF and ratio >= LETTER_MIN:
        return _LETTER_OF[ch]
    if ch in TWINS and ratio >= LETTER_MIN:
        return ch
    if ch in DIGITS and ratio <= DIGIT_MAX:
        return ch
    return None


def _pair(a: str, b: str) -> bool:
    return TWINS.get(a) == b or TWINS.get(b) == a


def _reference(cut: list[tuple[Word, list[int]]]) -> list[int]:
    """Widths of the digit glyphs of words (with their glyphs' widths), where the cut
    matches the text; in a word of digits alone its 0s and 8s are digits too."""
    out = []
    for w, widths in cut:
        digits = _REF | {"0", "8"} if w.text.isdigit() else _REF
        if len(widths) == len(w.text):
            out += [g for g, c in zip(widths, w.text, strict=True) if c in digits]
    return out


def mend_word(image: np.ndarray, word: Word, offset: tuple[int, int] = (0, 0),
              others: list[int] | None = None, widths: list[int] | None = None) -> Word:
    """``word`` with its letter-or-digit guesses settled by their glyphs' widths, where the
    glyphs can be matched to its characters one to one; else ``word`` unchanged.
    ``others`` are widths of digits typed beside it in the same face and size; ``widths``
    its own glyphs' if already cut."""
    text = word.text
    if widths is None:
        widths = glyph_widths(image, word, offset)
    chars = list(text)
    if len(widths) == len(text) - 1:
        # One glyph read as two characters: the one look-alike pair standing in it.
        spots = [i for i in range(len(text) - 1) if _pair(text[i], text[i + 1])]
        if len(spots) != 1:
            return word
        i = spots[0]
        chars = chars[:i] + [text[i:i + 2]] + chars[i + 2:]
    elif len(widths) != len(text):
        return word
    refs = [w for w, c in zip(widths, chars, strict=True) if c in _REF] + list(others or [])
    ref = _consistent(refs)
    if ref is None:
        return word
    if max(widths) > MERGED * ref:
        return word  # two glyphs touching somewhere: the pieces are not the characters
    if len(widths) < len(text) and not _fits(widths, chars, ref):
        return word  # the piece missing is elsewhere (a touching "11"): not the pair
    out, conf = [], word.conf
    for w, c in zip(widths, chars, strict=True):
        if len(c) == 2:  # the doubled glyph: whichever of the two its width says
            got = {_decide(ch, w / ref) for ch in c} - {None}
            if len(got) != 1:
                return word
            out.append(got.pop())
        elif c in TWINS or c in DIGITS:
            out.append(_decide(c, w / ref) or c)
        else:
            out.append(c)
        if out[-1] in _REF | {"0"} and w / ref >= LETTER_MIN:
            # A digit a letter's width: a letter read as one (3451Z213353 read 34512213353
            # and, all digits, accepted on a second read that agreed; seed 7474).
            conf = min(conf, WIDE_DIGIT_CONF)
    mended = "".join(out)
    if mended != text:
        conf = min(conf, MENDED_CONF)
    return word if mended == text and conf == word.conf else \
        replace(word, text=mended, conf=conf)


def held(read: list[Word], mended: list[Word]) -> bool:
    """Whether ``mend_number`` held a number's confidence for a digit a letter's width
    (WIDE_DIGIT_CONF: its words' confidences pass through respace's splits and joins)."""
    return bool(read and mended) and \
        min(w.conf for w in mended) == WIDE_DIGIT_CONF < min(w.conf for w in read)


def _fits(widths: list[int], chars: list[str], ref: float) -> bool:
    """Whether every other piece is as wide as its character: a digit near the reference,
    a 1 narrow."""
    for w, c in zip(widths, chars, strict=True):
        if c in _REF and not 0.85 <= w / ref <= 1.15:
            return False
        if c == "1" and w / ref > 0.75:
            return False
    return True


def _consistent(refs: list[int]) -> float | None:
    """The reference digit width: the median of at least two, most of them within 15 % of
    it (else the cut is not one glyph per piece); None when not."""
    if len(refs) < 2:
        return None
    ref = median(refs)
    near = sum(abs(r - ref) <= 0.15 * ref for r in refs)
    return ref if near >= 0.75 * len(refs) else None


def mend_number(page: PageContent, words: list[Word]) -> list[Word]:
    """The OCR'd words of a policy number, each mended by its glyphs, the digits of its
    other words (same face and size, same line) adding to the reference; then spaced by
    the gaps between its glyphs (``respace``).  Text layers are left as read."""
    if page.source != "ocr" or page.image is None:
        return words
    img, off = page.image, page.typed_offset
    cut = [(w, glyph_widths(img, w, off)) for w in words]  # each word cut once
    mended = [mend_word(img, w, off, _reference([c for c in cut if c[0] is not w]), widths)
              for w, widths in cut]
    return respace(img, mended, off)


# Spacing.  A space widens the gap between two glyphs by a quarter to one and a half of a
# digit's width (Helvetica and Times 0.55-0.6, Courier 1.5); OCR both splits a number where
# none is printed ("QT 153407459") and joins one where one is ("CGL1787813").  Measured
# against the number's own gaps between glyphs, a gap SPACE_MIN of a digit wider is a
# space, one within JOIN_MAX is none.
SPACE_MIN = 0.35
JOIN_MAX = 0.15


def _joined(a: Word, b: Word, sep: str) -> Word:
    box = (min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))
    return Word(a.text + sep + b.text, box, min(a.conf, b.conf, MENDED_CONF), a.page)


def _hyphen_between(image: np.ndarray, a: Word, b: Word, offset: tuple[int, int],
                    ref: float) -> bool | None:
    """Whether the gap between two words holds a hyphen OCR left out (True), other ink
    (None) or nothing (False).  A hyphen: one short bar at mid-height."""
    dx, dy = offset
    top, bottom = min(a.y0, b.y0), max(a.y1, b.y1)
    crop = image[max(0, top + dy):max(0, bottom + dy), max(0, a.x1 + 1 + dx):max(0, b.x0 + dx)]
    if crop.size == 0:
        return False
    ink = crop < INK_GRAY
    if not ink.any():
        return False
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    h, height, width = bottom - top, rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    mid = (rows[0] + rows[-1]) / 2 / h
    dash = height <= 0.35 * h and 0.3 <= mid <= 0.75 and 0.25 * ref <= width <= 1.5 * ref \
        and np.all(ink[:, cols[0]:cols[-1] + 1].any(axis=0))
    return True if dash else None


def _center(span: tuple[int, int]) -> float:
    return (span[0] + span[1]) / 2


def _close(sa: list[tuple[int, int]], sb: list[tuple[int, int]], gap: float,
           pitch: float | None, slack: float) -> bool:
    """Whether the last glyph of one word (``sa``, its glyphs) and the first of the next
    sit as close as glyphs of one word: their gap, or (beside a narrow 1) their centers'
    distance, within ``slack`` of the number's own."""
    if not sa or not sb:
        return False
    if sb[0][0] - sa[-1][1] - gap <= slack:
        return True
    return pitch is not None and _center(sb[0]) - _center(sa[-1]) - pitch <= slack


def space_unshown(image: np.ndarray, bbox: tuple[int, int, int, int], value: str) -> bool:
    """Whether a space beside a 1 in a number's text is one its glyphs do not show: the
    glyphs' centers there no further apart, by SPACE_MIN of a digit, than the number's
    other neighbouring digits' (as ``respace`` tells a space); unshown too when the glyphs
    cannot be matched to the characters.  A 1's ink is narrow: its side bearings look
    like a space to OCR."""
    ones = [i for i, c in enumerate(value)
            if c == " " and "1" in value[i - 1:i] + value[i + 1:i + 2]]
    if not ones:
        return False
    spans = glyph_spans(image, bbox)
    chars = value.replace(" ", "")
    if len(spans) != len(chars):
        return True
    at_space = {i - value[:i].count(" ") - 1 for i in ones}  # gap index: after that glyph
    steps = [_center(b) - _center(a) for a, b in pairwise(spans)]
    plain = [st for k, st in enumerate(steps) if k not in at_space and chars[k:k + 2].isdigit()]
    widths = [b - a for (a, b), c in zip(spans, chars, strict=True) if c in _REF]
    if len(plain) < 2 or len(widths) < 2:
        return True
    pitch, ref = median(plain), median(widths)
    return any(steps[k] - pitch < SPACE_MIN * ref for k in at_space if k < len(steps))


def respace(image: np.ndarray, words: list[Word], offset: tuple[int, int] = (0, 0)
            ) -> list[Word]:
    """The words of one line of a number, split and joined where the gaps between its
    glyphs say a space is printed or not, and joined by a hyphen OCR left out between
    two of them; as read where the glyphs cannot be matched to the characters."""
    words = sorted(words, key=lambda w: w.x0)
    spans = [glyph_spans(image, w.bbox, offset) for w in words]
    refs, gaps, pitches = [], [], []
    for w, sp in zip(words, spans, strict=True):
        if len(sp) == len(w.text):
            refs += [b - a for (a, b), c in zip(sp, w.text, strict=True) if c in _REF]
            for i in range(1, len(sp)):
                pair = w.text[i - 1:i + 1]
                if "-" not in pair:
                    gaps.append(sp[i][0] - sp[i - 1][1])
                if pair.isdigit():
                    pitches.append(_center(sp[i]) - _center(sp[i - 1]))
    ref = _consistent(refs)
    if ref is None or len(gaps) < 3:
        return words
    gap = median(gaps)
    pitch = median(pitches) if len(pitches) >= 2 else None
    pieces: list[tuple[Word, list[tuple[int, int]]]] = []  # with their glyphs
    for w, sp in zip(words, spans, strict=True):
        if len(sp) != len(w.text):
            pieces.append((w, sp))
            continue
        start = 0
        for i in range(1, len(sp)):
            # A wide gap beside a narrow glyph (a 1: tabular, so mostly side-bearing) is
            # no space; one that also puts the glyphs' centers a space further apart is.
            wide = pitch is not None and sp[i][0] - sp[i - 1][1] - gap >= SPACE_MIN * ref \
                and _center(sp[i]) - _center(sp[i - 1]) - pitch >= SPACE_MIN * ref
            if wide and "-" not in w.text[i - 1:i + 1]:
                pieces.append((Word(w.text[start:i], (sp[start][0], w.y0, sp[i - 1][1], w.y1),
                                    min(w.conf, MENDED_CONF), w.page), sp[start:i]))
                start = i
        pieces.append((w, sp) if start == 0 else (
            Word(w.text[start:], (sp[start][0], w.y0, w.x1, w.y1), min(w.conf, MENDED_CONF),
                 w.page), sp[start:]))
    out = [pieces[0]]
    for b, sb in pieces[1:]:
        a, sa = out[-1]
        between = _hyphen_between(image, a, b, offset, ref)
        if between is True:
            out[-1] = (_joined(a, b, "-"), sa + sb)
        elif between is False and _close(sa, sb, gap, pitch, JOIN_MAX * ref):
            out[-1] = (_joined(a, b, ""), sa + sb)
        else:
            out.append((b, sb))
    return [w for w, _ in out]
