"""Letters and digits OCR takes for each other in a policy number, told apart by width.

In the faces certificates are typed in, a round capital (O, D, Q) and B, G and A are a good
deal wider than the digit OCR takes them for (0, 8, 6, 4), while the digits 2-9 are about
one width (tabular figures).  A scan read ``BAOV4`` where ``BA0V4`` is printed: its 0 is as
wide as its 4, and an O would be a third wider.  So a policy number's glyphs are cut apart
where no ink crosses a column, and when there are as many as OCR read characters, each
letter-or-digit guess is weighed against the word's own digits.  On the scans and faxes of
seeds 3102 and 8181 a 0 measured 0.92-1.07 of the word's other digits, and the letters
1.12 or more (O, D, G, B at 1.24-1.38).

OCR also reads one glyph as both ("BA7X0O", "UL0S570", "H7GB8"): one glyph fewer than the
characters, where a look-alike pair stands, is that pair's one glyph.
"""

from __future__ import annotations

from dataclasses import replace
from statistics import median

import numpy as np

from extractors.fields import INK_GRAY
from pipeline.types import PageContent, Word

# Letter -> the digit it is taken for, or the other way round; told apart by width.
TWINS = {"O": "0", "D": "0", "Q": "0", "B": "8", "G": "6", "A": "4"}
DIGITS = {"0", "8", "6", "4"}
# A digit glyph measures up to DIGIT_MAX of the word's other digits, a letter LETTER_MIN
# or more; between them nothing is decided.
DIGIT_MAX = 1.10
LETTER_MIN = 1.20
# The reference digits must agree this well, or the cut is not one glyph per piece.
REF_SPREAD = 1.35
_REF = frozenset("2345679")
# No glyph is this much wider than a digit (W is 1.8-1.9): two touching glyphs are.
MERGED = 2.0
_LETTER_OF = {"8": "B", "6": "G", "4": "A"}  # a wide 0 is O, D or Q: not decided


def glyph_widths(image: np.ndarray, word: Word, offset: tuple[int, int] = (0, 0)
                 ) -> list[int]:
    """Widths of the word's glyphs, cut where no ink crosses a pixel column; specks out."""
    dx, dy = offset
    x0, y0, x1, y1 = (int(v) for v in word.bbox)
    crop = image[max(0, y0 + dy):max(0, y1 + dy), max(0, x0 + dx):max(0, x1 + dx)]
    if crop.size == 0:
        return []
    ink = crop < INK_GRAY
    cols = ink.sum(axis=0)
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
    return [b - a for a, b, n in runs if not (b - a <= 3 and n < 0.08 * typical)]


def _decide(ch: str, ratio: float) -> str | None:
    """The character a look-alike glyph is by its width (None: not decided)."""
    if ch in TWINS and ratio <= DIGIT_MAX:
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


def _reference(image: np.ndarray, words: list[Word], offset: tuple[int, int]) -> list[int]:
    """Widths of the digit glyphs of ``words``, where the cut matches the text; in a word
    of digits alone its 0s and 8s are digits too."""
    out = []
    for w in words:
        digits = _REF | {"0", "8"} if w.text.isdigit() else _REF
        widths = glyph_widths(image, w, offset)
        if len(widths) == len(w.text):
            out += [g for g, c in zip(widths, w.text, strict=True) if c in digits]
    return out


def mend_word(image: np.ndarray, word: Word, offset: tuple[int, int] = (0, 0),
              others: list[int] | None = None) -> Word:
    """``word`` with its letter-or-digit guesses settled by their glyphs' widths, where the
    glyphs can be matched to its characters one to one; else ``word`` unchanged.
    ``others`` are widths of digits typed beside it in the same face and size."""
    text = word.text
    if not any(c in TWINS or c in DIGITS for c in text):
        return word
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
    if len(refs) < 2 or max(refs) > REF_SPREAD * min(refs):
        return word
    ref = median(refs)
    if max(widths) > MERGED * ref:
        return word  # two glyphs touching somewhere: the pieces are not the characters
    out = []
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
    mended = "".join(out)
    return word if mended == text else replace(word, text=mended)


def mend_number(page: PageContent, words: list[Word]) -> list[Word]:
    """The OCR'd words of a policy number, each mended by its glyphs, the digits of its
    other words (same face and size, same line) adding to the reference.  Text layers are
    left as read."""
    if page.source != "ocr" or page.image is None:
        return words
    img, off = page.image, page.typed_offset
    return [mend_word(img, w, off, _reference(img, [o for o in words if o is not w], off))
            for w in words]
