"""A second read of the values the first one was unsure of.

Whole-page OCR reads each word once, among thousands, with the page's segmentation.  A
field below its accept threshold is cut out again (binarized, alone on its line) and read
by one more tesseract call for all of them together (~0.1 s of start-up a document).  When
the second read normalizes to the same value, two different views of the pixels agree, and
the field is as sure as the agreement has proved to be on the benchmark
(``AGREED_CONFIDENCE``); when it does not, the field stays for review with the second
reading in its notes, for the reviewer.
"""

from __future__ import annotations

from collections.abc import Callable

from extractors.layout import group_rows
from extractors.normalize import (
    parse_flag,
    parse_insurer_letter,
    parser_for,
    settled_policy_number,
)
from pipeline import tesseract
from pipeline.record import field_family
from pipeline.reread import binarize, read_crops
from pipeline.types import Extraction, FieldValue, PageContent, Word

# Confidence of a value two reads agree on.  bench/accuracy.py measures how often such
# values were right (the "agreed" rows of its reliability table, docs/benchmarks.md).
AGREED_CONFIDENCE = 0.93
# A settled policy number two reads agree on, spacing and all, first read with a
# confidence of POLICY_READ_FLOOR or more, not on a fax: accepted.  Below the floor a
# misreading no look-alike rule catches gets through: "9241U037372" read "92410037372" at
# 0.24 (seed 3102), a 150-dpi "CGL" read "OGL" at 0.68 (seed 5353, the one wrong of 52
# such numbers accepted there), and both second reads agreed.  On a fax "6972Z866512" read
# "69722866512" at 0.91, and agreed: two reads of the same broken pixels (faxes have their
# three readings' vote instead).
POLICY_AGREED_CONFIDENCE = 0.96
POLICY_READ_FLOOR = 0.7
PAD_X, PAD_Y = 8, 5  # at least; horizontally 1.5 line heights
MAX_HEIGHT = 70  # pixels at 300 dpi: one line of text; taller values span several lines
AGREED_NOTE = "a second read agreed"


def unsure(path: str, f: FieldValue) -> bool:
    """Fields worth a second read: below their threshold for want of OCR confidence alone
    (a validation finding in the notes is not something a second read can clear), and more
    than one character (the insurer letter and the flags had their own whitelisted reread).

    Policy numbers only when settled (extractors.normalize.settled_policy_number): two
    reads of "V0V7" agreed on "VOV7" as often as not (seed 7301), since nothing but the
    font tells O from 0 in a string of arbitrary letters and digits.
    """
    if f.status != "needs_review" or f.notes:
        return False
    if field_family(path) == "policy_numbers":
        return _settled(f)
    return parser_for(path) not in (parse_flag, parse_insurer_letter)


def _settled(f: FieldValue) -> bool:
    return field_family(f.path) == "policy_numbers" and isinstance(f.value, str) \
        and settled_policy_number(f.value)


def second_read(pages: list[PageContent], *extractions: Extraction, timeout: float,
                wanted: Callable[[str, FieldValue], bool] = unsure) -> int:
    """Read again the OCR'd fields for which ``wanted(path, field)`` holds, normalized by
    the extractor's own ``parser_for(path)``; returns how many were read.  Every
    certificate of the document (a batch scan has several) in the one tesseract call."""
    by_number = {p.number: p for p in pages}
    todo = []
    for path, f in ((path, f) for ex in extractions for path, f in ex.fields.items()):
        page = by_number.get(f.page)
        parser = parser_for(path)
        if page is None or page.source != "ocr" or page.image is None or parser is None:
            continue
        if not wanted(path, f):
            continue
        if page.bilevel and field_family(path) == "policy_numbers":
            continue  # a fax: two reads of the same broken pixels (its vote decides)
        x0, y0, x1, y1 = f.bbox
        if x1 <= x0 or y1 <= y0 or y1 - y0 > MAX_HEIGHT:
            continue
        h, w = page.image.shape
        # Wider than the first read's box: a piece it left out ("gregory." of an address
        # read as "fischer@...") shows in the second read, which then disagrees.
        pad_x = max(PAD_X, round(1.5 * (y1 - y0)))
        crop = page.image[max(0, y0 - PAD_Y):min(h, y1 + PAD_Y),
                          max(0, x0 - pad_x):min(w, x1 + pad_x)]
        if crop.size:
            # A fax page is black and white already, softened, and read by the standard
            # model: thresholded again its thin strokes break (pipeline/reread.py).
            model = tesseract.STANDARD if page.bilevel else tesseract.FAST
            todo.append((f, parser, crop if page.bilevel else binarize(crop), model))
    if not todo:
        return 0
    for model in {m for *_, m in todo}:
        mine = [t for t in todo if t[3] == model]
        found = read_crops([c for _, _, c, _ in mine], timeout=timeout, model=model)
        for (f, parser, _, _), words in zip(mine, found, strict=True):
            _judge(f, parser, group_rows(words))
    return len(todo)


# Rule fragments and specks a wider cut takes in at its edges ("| 3.000.000 |", "]o8:12").
_EDGE_JUNK = "|[]{}()¢;:_~'\"\u2018\u2019\u201c\u201d"
MAX_RUN = 4  # words: a value is found inside a reading with its label's remnants around it


def _judge(f: FieldValue, parser: Callable, rows: list[list[Word]]) -> None:
    """Agreement when the second reading, or a run of its words (the wider cut takes in a
    label's remnant, "ess_dramirez@..." or "S$ 500,000"), normalizes to the same value.
    An address's lines are joined as the extractor joins them ("9081 Harbor Rd, Buffalo")."""
    words = [w for row in rows for w in row]
    text = " ".join(w.text for w in words)
    lines = ", ".join(" ".join(w.text for w in row) for row in rows).strip(_EDGE_JUNK + " ")
    texts = [text, lines] + [" ".join(w.text for w in words[i:i + k]).strip(_EDGE_JUNK + " ")
                             for k in range(1, MAX_RUN + 1) for i in range(len(words) - k + 1)]
    fits = [fit for value, fit in map(parser, texts) if value is not None and value == f.value]
    if fits:
        # Agreement on a value of the wrong shape (a "£" in a policy number) is no proof:
        # the cleanest run that agrees counts.
        # A settled number's whole second reading must be it: a run of its words agreeing
        # would accept the first line of a number wrapped onto two.  (A fax's policy
        # numbers never get here: second_read leaves them to the vote.)
        settled = _settled(f) and f.confidence >= POLICY_READ_FLOOR \
            and parser(lines)[0] == f.value
        agreed = POLICY_AGREED_CONFIDENCE if settled else AGREED_CONFIDENCE
        f.confidence = round(max(f.confidence, agreed * max(fits)), 4)
        f.notes.append(AGREED_NOTE)
    else:
        f.notes.append(f"a second read gave {text!r}")
