"""Image clean-up details that decide whether a value can be read at all: letters taken for
check boxes, text cut by a rule or a fax streak, the Y alone in the workers compensation
box, and the second read of unsure values.  Pages are drawn with reportlab, rendered by
poppler at 300 dpi and OCR'd by the real tesseract."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from reportlab.lib.pagesizes import letter
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from extractors.glyphs import glyph_spans
from extractors.layout import group_rows
from extractors.normalize import parse_text
from extractors.validate import assign_status
from pipeline import boxes as bx
from pipeline import poppler, tesseract
from pipeline import preprocess as pp
from pipeline import rules as rl
from pipeline.periods import closing_stop, restore_periods
from pipeline.reread import reread
from pipeline.tesseract import Glyph
from pipeline.types import PAGE_DPI, Extraction, FieldValue, PageContent, Reread, Word
from pipeline.verify import (
    AGREED_CONFIDENCE,
    AGREED_NOTE,
    DESCRIPTION_AGREED_CONFIDENCE,
    LOOKALIKE_MAX,
    MAX_HEIGHT,
    POLICY_AGREED_CONFIDENCE,
    _judge,
    _judge_choices,
    _unshown_space,
    _weighed,
    second_read,
    unsure,
)

PT = PAGE_DPI / 72  # page pixels per point
H_PT = letter[1]


def render(tmp_path: Path, draw) -> np.ndarray:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=letter, invariant=1)
    draw(c)
    c.showPage()
    c.save()
    path = tmp_path / "page.pdf"
    path.write_bytes(buf.getvalue())
    return poppler.render_page(path, 1, dpi=PAGE_DPI).copy()


def px(x_pt: float, y_pt: float) -> tuple[int, int]:
    """reportlab points (origin bottom left) to page pixels (origin top left)."""
    return round(x_pt * PT), round((H_PT - y_pt) * PT)


def ocr(img: np.ndarray) -> list[str]:
    return [w.text for w in tesseract.run_data(img, page=1, psm=11, dpi=PAGE_DPI, timeout=60)]


# --------------------------------------------------------------------------- check boxes


def test_bold_letters_are_not_taken_for_check_boxes(tmp_path):
    def draw(c):
        c.setFont("Helvetica-Bold", 8)  # at this size and blur, its B, 8 and s pass for boxes
        c.drawString(100, 640, "PO Box 9538, Kansas City, MO 64157 BLDG 8 BRIDGE Suite 800")
        c.setLineWidth(0.8)
        c.rect(100, 560, 7, 7)  # an empty check box, 0.1 inch
        c.rect(300, 555, 14, 13)  # the larger Y/N box of workers compensation
        c.setFont("Courier-Bold", 9)
        c.drawString(304, 558, "Y")

    img = cv2.GaussianBlur(render(tmp_path, draw), (0, 0), 0.8)  # a scanner's softness
    found = bx.find_boxes(img, PAGE_DPI)
    centers = sorted(((b.bbox[0] + b.bbox[2]) / 2, (b.bbox[1] + b.bbox[3]) / 2) for b in found)
    want = [px(103.5, 563.5), px(307, 561.5)]
    assert len(centers) == 2, found
    for (cx, cy), (wx, wy) in zip(centers, want, strict=True):
        assert abs(cx - wx) < 6 and abs(cy - wy) < 6
    # Nothing was erased from the bold text, so it still reads.
    words = ocr(bx.erase_outlines(img, found))
    assert {"Box", "Kansas", "BLDG", "BRIDGE", "Suite"} <= set(words)


# ------------------------------------------------------------------------------- rules


def test_a_fax_streak_is_painted_out_is_not_a_rule_and_cuts_no_word(tmp_path):
    def draw(c):
        c.setFont("Helvetica", 10)
        c.drawString(150, 500, "CERTIFICATE HOLDER")
        c.drawString(150, 300, "COMMERCIAL GENERAL")
        c.setLineWidth(0.8)
        c.line(140, 520, 140, 280)  # a real column rule, a third of the page
        c.rect(36, 40, 540, 710)  # the form's frame: its sides run down most of the page
        for y in (700, 600, 400, 200, 100):
            c.line(36, y, 576, y)  # rows, ending at the frame
    img = render(tmp_path, draw)
    # The streak: 2 px of black from top to bottom, through the middle of the O of HOLDER
    # (crossing its horizontal arcs) and of COMMERCIAL's first M.
    x = round((150 + stringWidth("CERTIFICATE H", "Helvetica", 10)
               + stringWidth("O", "Helvetica", 10) / 2) * PT)
    img[:, x:x + 2] = 0
    cleaned, rules = rl.remove_rules(img, PAGE_DPI)
    vertical = [r for r in rules if not r.horizontal]
    assert [r.x0 for r in vertical if abs(r.x0 - x) < 8] == []
    for x_pt in (140, 36, 576):  # the column rule and the frame's sides are rules
        assert any(abs(r.x0 - round(x_pt * PT)) < 6 for r in vertical), x_pt
    assert (cleaned[:120, x:x + 2] > 200).all()  # painted out where it crosses no text
    words = ocr(cleaned)
    assert "HOLDER" in words and "CERTIFICATE" in words


def test_text_printed_over_a_cell_border_reads_whole(tmp_path):
    # Printer misalignment: the values sit on the ruled line under them.
    def draw(c):
        c.setFont("Courier", 10)
        c.drawString(150, 500, "GL128052798")
        c.drawString(300, 500, "BOSTON HARBOR")
        c.setLineWidth(0.8)
        c.line(100, 502.5, 500, 502.5)  # through the lower part of the letters
    img = render(tmp_path, draw)
    cleaned, _ = rl.remove_rules(img, PAGE_DPI)
    words = ocr(cleaned)
    assert "GL128052798" in words and "HARBOR" in words


def test_words_touching_a_column_rule_from_both_sides_stay_apart(tmp_path):
    left = "10/09/2024"
    w = stringWidth(left, "Courier", 10)

    def draw(c):
        c.setFont("Courier", 10)
        c.drawString(300 - w - 0.6, 500, left)
        c.drawString(300.6, 500, "10/09/2025")
        c.setLineWidth(0.8)
        c.line(300, 560, 300, 440)
    img = render(tmp_path, draw)
    cleaned, _ = rl.remove_rules(img, PAGE_DPI)
    words = ocr(cleaned)
    assert "10/09/2024" in words and "10/09/2025" in words


# ------------------------------------------------------------------------------ reread


def test_the_y_alone_in_the_workers_compensation_box_is_read(tmp_path):
    def draw(c):
        c.setLineWidth(0.8)
        c.rect(300, 555, 14, 13)
        c.setFont("Courier-Bold", 9)
        c.drawString(304, 558, "Y")
    img = render(tmp_path, draw)
    (box,) = bx.find_boxes(img, PAGE_DPI)
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[],
                       source="ocr", image=img)
    assert reread([page], [Reread(1, box.bbox, "YN")], timeout=60) == 1
    assert [w.text for w in page.words] == ["Y"]


def test_a_lone_bold_b_in_the_insurer_letter_cells_is_read(tmp_path):
    # Stacked and restricted to "ABCDEF", tesseract read these bold B's as nothing (a
    # whitelist empties its choice for the glyph); read alone, unrestricted, they are B.
    def draw(c):
        c.setFont("Helvetica-Bold", 9)
        for y in (560, 500, 440):
            c.drawString(60, y, "B")
    img = render(tmp_path, draw)
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[],
                       source="ocr", image=img)
    cells = []
    for y in (560, 500, 440):
        x, top = px(60, y + 14)
        cells.append(Reread(1, (x - 30, top, x + 45, top + 75), "ABCDEF"))
    assert reread([page], cells, timeout=60) == 3
    assert sorted(w.text for w in page.words) == ["B", "B", "B"]


# ---------------------------------------------------------------------------- second read


def _rendered(tmp_path: Path, draw, *, bilevel: bool = False
              ) -> tuple[PageContent, list[Word]]:
    """A scanned page drawn by ``draw`` (a fax's when ``bilevel``: thresholded, softened),
    and the words whole-page OCR reads on it."""
    img = render(tmp_path, draw)
    if bilevel:
        img = cv2.GaussianBlur(np.where(img < 128, 0, 255).astype(np.uint8), (3, 3), 0)
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[],
                       source="ocr", image=img, bilevel=bilevel)
    return page, tesseract.run_data(img, page=1, psm=11, dpi=PAGE_DPI, timeout=60)


def _courier(*lines: str, font: str = "Courier", size: float = 10):
    """A draw function typing ``lines`` in 10-point Courier (or ``font``), 50 points apart."""
    def draw(c):
        c.setFont(font, size)
        for i, text in enumerate(lines):
            c.drawString(150, 500 - 50 * i, text)
    return draw


def _field(path: str, value, bbox) -> FieldValue:
    return FieldValue(path=path, value=value, confidence=0.6, page=1, bbox=bbox)


def test_second_read_raises_agreeing_values_and_notes_disagreeing_ones(tmp_path):
    page, words = _rendered(tmp_path, _courier("GL128052798", "10/09/2025", "1,000,000"))
    box = {w.text: w.bbox for w in words}
    fields = {
        "policies.general_liability.policy_number":
            _field("policies.general_liability.policy_number", "GL128052798",
                   box["GL128052798"]),
        "policies.general_liability.expiration_date":
            _field("policies.general_liability.expiration_date", "2025-10-08",
                   box["10/09/2025"]),  # misread by the first pass: the second disagrees
        "policies.general_liability.limits.each_occurrence":
            _field("policies.general_liability.limits.each_occurrence", 1000000,
                   box["1,000,000"]),
    }
    ext = Extraction(fields=fields)
    n = second_read([page], ext, timeout=60, wanted=lambda p, f: True)
    assert n == 3
    pol = fields["policies.general_liability.policy_number"]  # read with the LSTM's choices
    assert pol.confidence == POLICY_AGREED_CONFIDENCE and AGREED_NOTE in pol.notes
    occ = fields["policies.general_liability.limits.each_occurrence"]
    assert occ.confidence == AGREED_CONFIDENCE
    exp = fields["policies.general_liability.expiration_date"]
    assert exp.confidence == 0.6 and exp.notes == ["a second read gave '10/09/2025'"]


def test_a_description_a_second_read_agrees_on_is_accepted_rule_and_all(tmp_path):
    # A one-line description beside its box's left rule: the wider cut takes the rule in
    # ("| Evidence of ..."), which is no disagreement; agreeing whole, a description is as
    # sure as its family's threshold (not a fax's: the same broken pixels twice).
    text = "Evidence of insurance only. Waiver of subrogation applies."

    def draw(c):
        c.setFont("Helvetica", 9)
        c.drawString(150, 500, text)
        c.setLineWidth(1.2)
        c.line(143, 490, 143, 515)

    page, words = _rendered(tmp_path, draw)
    line = [w for w in words if w.x0 > px(146, 0)[0]]
    assert " ".join(w.text for w in line) == text
    path = "description_of_operations"
    box = (min(w.x0 for w in line), min(w.y0 for w in line), max(w.x1 for w in line),
           max(w.y1 for w in line))
    f = _field(path, text, box)
    f.confidence = 0.92
    assign_status({path: f})
    assert unsure(path, f)
    second_read([page], Extraction(fields={path: f}), timeout=60)
    assert f.notes == [AGREED_NOTE] and f.confidence == DESCRIPTION_AGREED_CONFIDENCE
    assign_status({path: f})
    assert f.status == "accepted"
    # On a fax, agreeing, it stays under the threshold.
    fax, _ = _rendered(tmp_path, draw, bilevel=True)
    g = _field(path, text, box)
    g.confidence = 0.92
    second_read([fax], Extraction(fields={path: g}), timeout=60)
    assert g.confidence == AGREED_CONFIDENCE
    # The box's rule read at a line's start or end ("| Workers compensation ..." on four
    # scans of seed 5757) is no disagreement; a word that differs is.
    two = [[Word("|", (0, 0, 4, 30), 0.5, 1), *(Word(t, (10 * i, 0, 10 * i + 9, 30), 0.9, 1)
                                              for i, t in enumerate(text.split()[:4], 1))],
           [Word(t, (10 * i, 40, 10 * i + 9, 70), 0.9, 1)
            for i, t in enumerate(text.split()[4:], 1)] + [Word("]", (200, 40, 204, 70), 0.4, 1)]]
    for first, agreed in ((text, True), (text.replace("only", "onIy"), False)):
        h = _field(path, first, box)
        _judge(h, parse_text, two, DESCRIPTION_AGREED_CONFIDENCE)
        assert (h.notes == [AGREED_NOTE]) is agreed, first
    # A run of its words agreeing, with more read around it ("repairs. MW"), is no whole
    # agreement: as sure as any other, not the threshold.
    short = _field(path, "Job 1234 repairs.", box)
    more = [[Word(t, (10 * i, 0, 10 * i + 9, 30), 0.9, 1)
             for i, t in enumerate(("Job", "1234", "repairs.", "MW"))]]
    _judge(short, parse_text, more, DESCRIPTION_AGREED_CONFIDENCE)
    assert short.notes == [AGREED_NOTE] and short.confidence == AGREED_CONFIDENCE


def test_a_settled_policy_number_two_reads_agree_on_is_accepted(tmp_path):
    # Only letters and digits that cannot be taken for each other where they stand: both
    # reads agreeing, spacing and all, is as sure as such numbers proved to be.
    page, words = _rendered(tmp_path, _courier("CPP 81-5136470-84", "BA0V4 2023",
                                               "92410037372"))
    rows = group_rows(words)
    boxes = [(min(w.x0 for w in r), min(w.y0 for w in r), max(w.x1 for w in r),
              max(w.y1 for w in r)) for r in rows]
    gl, auto, xs = ("policies.general_liability.policy_number",
                    "policies.automobile_liability.policy_number",
                    "policies.excess_liability.policy_number")
    fields = {gl: _field(gl, "CPP 81-5136470-84", boxes[0]),
              auto: _field(auto, "BA0V4 2023", boxes[1]),
              xs: _field(xs, "92410037372", boxes[2])}
    fields[gl].confidence = 0.77  # several OCR words: the spacing a guess (0.85 of 0.9)
    fields[xs].confidence = 0.24  # first read unsure: a letter may hide among the digits
    fields[auto].confidence = 0.25  # 0 or O: a guess, and under the floor of a choices read
    assign_status(fields)
    assert [unsure(p, f) for p, f in fields.items()] == [True, False, True]
    assert second_read([page], Extraction(fields=fields), timeout=60) == 2
    assert fields[gl].confidence == POLICY_AGREED_CONFIDENCE
    assert fields[xs].confidence == AGREED_CONFIDENCE
    assign_status(fields)
    assert [f.status for f in fields.values()] == ["accepted", "needs_review", "needs_review"]


def test_an_unsettled_policy_number_is_read_again_with_the_lstms_choices(tmp_path):
    # CA120959228: is the 1 an I?  Read again with the LSTM's alternatives for each
    # character, agreeing and with no letter weighed for a digit, it is accepted.
    def draw(c):
        c.setFont("Helvetica", 9)
        c.drawString(150, 500, "CA120959228")
    page, words = _rendered(tmp_path, draw)
    [word] = words
    path = "policies.automobile_liability.policy_number"
    f = _field(path, "CA120959228", word.bbox)
    f.confidence = 0.8
    assign_status({path: f})
    assert unsure(path, f)
    assert second_read([page], Extraction(fields={path: f}), timeout=60) == 1
    assert f.confidence == POLICY_AGREED_CONFIDENCE and f.notes == [AGREED_NOTE]
    # Not when first read under the floor, nor with a letter O or lower case in it.
    for value, conf in (("CA120959228", 0.25), ("CAO20959228", 0.8), ("ca120959228", 0.8)):
        g = _field(path, value, word.bbox)
        g.confidence = conf
        assign_status({path: g})
        assert not unsure(path, g), value
    # Nor a settled one with a space between two digits: where OCR split a run of digits
    # no choice of characters shows ("WC 90-77386 16-14", seed 6161); a plain second read
    # cannot accept it either (0.93 at most).
    split = _field(path, "WC 90-77386 16-14", word.bbox)
    assign_status({path: split})
    assert unsure(path, split) and not _weighed(split)
    whole = _field(path, "WC 90-7738616-14", word.bbox)
    whole.confidence = 0.8
    assert _weighed(whole)
    # Nor a space before a 1 after a part with digits (a 1's side bearings read as a
    # space: "7292Y 105942" accepted, seed 6363), nor one beside a hyphen; a space after
    # a code of letters, or before a year, is the number's own.
    for value, weighed in (("7292Y 105942", False), ("8064F661 168", False),
                           ("M2H4-XLZP- 3D85434-94", False), ("WC 1459413", True),
                           ("CGL9C1 2022", True), ("15 XFY YU0698", True)):
        g = _field(path, value, word.bbox)
        g.confidence = 0.8
        assert _weighed(g) is weighed, value


def test_a_space_beside_a_1_its_glyphs_do_not_show_gets_no_choices_read(tmp_path):
    # "67 AWZ FY1488" read "67 AWZ FY 1488" and accepted (seed 6363): a 1's narrow ink
    # leaves room at its sides that OCR takes for a space.  One typed there is shown.
    page, words = _rendered(tmp_path, _courier("67 AWZ FY1488", "WC 1459413",
                                               font="Helvetica", size=9))
    rows = group_rows(words)
    path = "policies.other.policy_number"

    def field(row, value):
        box = (min(w.x0 for w in row), min(w.y0 for w in row), max(w.x1 for w in row),
               max(w.y1 for w in row))
        return _field(path, value, box)

    assert len(glyph_spans(page.image, field(rows[0], "").bbox)) == 11  # cut one by one
    assert _unshown_space(page, field(rows[0], "67 AWZ FY 1488"))
    assert not _unshown_space(page, field(rows[0], "67 AWZ FY1488"))  # no space by a 1
    assert not _unshown_space(page, field(rows[1], "WC 1459413"))


def _glyphs(text: str, behind: dict[int, tuple[str, float]]) -> tuple[Glyph, ...]:
    return tuple(Glyph(c, 0.95, ((c, 0.95),) + ((behind[i],) if i in behind else ()))
                 for i, c in enumerate(text))


def test_a_lookalike_behind_a_character_keeps_the_number_for_review():
    # ESY7 for E5Y7 (seed 5858): a second read agreed on the S, with a 5 at 0.70 behind it.
    path = "policies.workers_compensation.policy_number"
    word = Word("ESY7-WCASA-8R59124-69", (0, 0, 200, 20), 0.9, 1)
    for behind, conf, note in (
            ({1: ("5", 0.70)}, AGREED_CONFIDENCE, "'5' for 'S' (0.70)"),
            ({1: ("5", LOOKALIKE_MAX - 0.01)}, POLICY_AGREED_CONFIDENCE, AGREED_NOTE),
            ({3: ("1", 0.55)}, AGREED_CONFIDENCE, "'1' for '7' (0.55)"),  # a digit for one
            ({15: ("l", 0.6)}, AGREED_CONFIDENCE, "'l' for '1' (0.60)"),  # lower case too
            ({0: ("e", 0.9)}, POLICY_AGREED_CONFIDENCE, AGREED_NOTE)):  # its own lower case
        f = _field(path, "ESY7-WCASA-8R59124-69", word.bbox)
        f.confidence = 0.9
        _judge_choices(f, lambda t: (t, 1.0), [(word, _glyphs(word.text, behind))])
        assert f.confidence == conf and note in f.notes[0], behind
    f = _field(path, "ESY7-WCASA-8R59124-69", word.bbox)
    other = Word("E5Y7-WCASA-8R59124-69", word.bbox, 0.9, 1)
    _judge_choices(f, lambda t: (t, 1.0), [(other, _glyphs(other.text, {}))])
    assert f.confidence == 0.6 and f.notes == ["a second read gave 'E5Y7-WCASA-8R59124-69'"]


def test_tesseract_gives_each_characters_alternatives(tmp_path):
    def draw(c):
        c.setFont("Helvetica", 9)
        c.drawString(150, 500, "GL5T0 2024")
    img = render(tmp_path, draw)
    found = tesseract.run_choices(img, page=1, psm=11, dpi=PAGE_DPI, timeout=60)
    words = tesseract.run_data(img, page=1, psm=11, dpi=PAGE_DPI, timeout=60)
    assert [w.text for w, _ in found] == [w.text for w in words]
    assert [w.bbox for w, _ in found] == [w.bbox for w in words]
    for w, glyphs in found:
        assert "".join(g.text for g in glyphs) == w.text
        assert all(g.choices and 0 <= p <= 1 for g in glyphs for _, p in g.choices)


def test_a_mark_read_as_its_letter_is_read_again_and_one_read_as_something_else_is_not(
        tmp_path):
    # Tesseract gives a lone Y a low confidence (0.0-0.54 on seeds 5656-5858, all right).
    def draw(c):
        c.setFont("Helvetica", 9)
        c.drawString(150, 500, "Y")
    page, _ = _rendered(tmp_path, draw)
    ys, xs = np.nonzero(page.image < 128)  # whole-page OCR drops a lone Y: its ink's box
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    path = "policies.general_liability.additional_insured"
    f = _field(path, True, box)
    f.confidence, f.raw = 0.2, "Y"
    assign_status({path: f})
    assert unsure(path, f)
    assert second_read([page], Extraction(fields={path: f}), timeout=60) == 1
    assert f.confidence == AGREED_CONFIDENCE and f.notes == [AGREED_NOTE]
    for raw in ("4", "N=", ""):  # a check mark read "4", a garbled N, an unread cell
        g = _field(path, True, box)
        g.confidence, g.raw = 0.3, raw
        assign_status({path: g})
        assert not unsure(path, g), raw
    # An N whose second reading is empty (blank paper beside the Y): no mark read is no
    # agreement, though "" parses as "no mark".
    blank = (box[0] + 400, box[1], box[2] + 400, box[3])
    n = _field(path, False, blank)
    n.confidence, n.raw = 0.3, "N"
    assign_status({path: n})
    assert unsure(path, n)
    assert second_read([page], Extraction(fields={path: n}), timeout=60) == 1
    assert n.confidence == 0.3 and n.notes == ["a second read gave ''"]


def test_a_fax_policy_number_is_not_read_a_second_time(tmp_path):
    # Both reads see the same broken pixels ("6972Z866512" read "69722866512" twice, and
    # accepted); a fax's three readings vote on it instead.
    page, words = _rendered(tmp_path, _courier("CPP 81-5136470-84"), bilevel=True)
    box = (min(w.x0 for w in words), min(w.y0 for w in words), max(w.x1 for w in words),
           max(w.y1 for w in words))
    path = "policies.general_liability.policy_number"
    f = _field(path, "CPP 81-5136470-84", box)
    assert second_read([page], Extraction(fields={path: f}), timeout=60,
                       wanted=lambda p, f: True) == 0
    assert f.notes == [] and f.confidence == 0.6


def test_second_read_finds_the_value_among_the_remnants_a_wider_cut_takes_in(tmp_path):
    # A fax: a label's remnant left of the amount and a rule's fragment right of it come
    # with the wider cut ("ess 500,000 |"), which as a whole is no amount.
    def draw(c):
        c.setFont("Courier", 10)
        c.drawString(150, 500, "ess 500,000")
        c.rect(262, 494, 0.6, 14, fill=1)
    page, words = _rendered(tmp_path, draw, bilevel=True)
    [amount] = [w for w in words if "500" in w.text]
    path = "policies.general_liability.limits.damage_to_rented_premises"
    f = _field(path, 500000, amount.bbox)
    assert second_read([page], Extraction(fields={path: f}), timeout=60,
                       wanted=lambda p, f: True) == 1
    assert f.notes == [AGREED_NOTE] and f.confidence == AGREED_CONFIDENCE


def test_second_read_joins_an_addresss_lines_as_the_extractor_does(tmp_path):
    def draw(c):
        c.setFont("Helvetica", 7)
        c.drawString(150, 500, "9081 Harbor Rd")
        c.drawString(150, 492, "Buffalo, NY 14279")
    page, words = _rendered(tmp_path, draw)
    box = (min(w.x0 for w in words), min(w.y0 for w in words), max(w.x1 for w in words),
           max(w.y1 for w in words))
    f = _field("certificate_holder.address", "9081 Harbor Rd, Buffalo, NY 14279", box)
    second_read([page], Extraction(fields={f.path: f}), timeout=60, wanted=lambda p, f: True)
    assert f.notes == [AGREED_NOTE]


def test_an_address_on_three_lines_is_read_again_whole(tmp_path):
    # 10-point lines 14 points apart: a box of ~140 px, over one line's height.
    def draw(c):
        c.setFont("Helvetica", 10)
        for i, text in enumerate(("7586 Maple Pike", "Bldg E", "Naperville, IL 60556")):
            c.drawString(150, 500 - 14 * i, text)
    page, words = _rendered(tmp_path, draw)
    page.words = words
    box = (min(w.x0 for w in words), min(w.y0 for w in words), max(w.x1 for w in words),
           max(w.y1 for w in words))
    assert box[3] - box[1] > MAX_HEIGHT
    f = _field("insured.address", "7586 Maple Pike, Bldg E, Naperville, IL 60556", box)
    assert second_read([page], Extraction(fields={f.path: f}), timeout=60,
                       wanted=lambda p, f: True) == 1
    assert f.notes == [AGREED_NOTE] and f.confidence == AGREED_CONFIDENCE
    # A box many lines tall holds more than the address: not read again.
    tall = _field("insured.address", f.value, (box[0], box[1], box[2], box[1] + 600))
    assert second_read([page], Extraction(fields={f.path: tall}), timeout=60,
                       wanted=lambda p, f: True) == 0


def test_second_read_leaves_text_layer_pages_and_unwanted_fields_alone(tmp_path):
    img = np.full((400, 400), 255, np.uint8)
    page = PageContent(number=1, width=400, height=400, words=[], source="text", image=img)
    f = _field("insured.name", "Acme", (10, 10, 100, 40))
    ext = Extraction(fields={"insured.name": f})
    assert second_read([page], ext, timeout=60, wanted=lambda p, f: True) == 0
    page.source = "ocr"
    assert second_read([page], ext, timeout=60, wanted=lambda p, f: False) == 0
    assert f.notes == [] and f.confidence == 0.6


def test_blurred_bold_words_are_not_taken_for_rules(tmp_path):
    # A phone photo of a bold typewriter face: letters run together, and the tops of
    # "ompa" make a horizontal run longer than the line kernel.
    def draw(c):
        c.setFont("Courier-Bold", 10)
        c.drawString(150, 500, "Continental Casualty Company")
        c.drawString(150, 450, "tanya.murphy@harborpoint.com")
        c.setLineWidth(0.8)
        c.line(100, 490, 500, 490)  # a real rule under the first line
    img = render(tmp_path, draw)
    img = cv2.GaussianBlur(img, (0, 0), 3.0)
    assert len(ocr(img)) >= 4  # tesseract reads the blurred words (with the rule in)
    cleaned, rules = rl.remove_rules(img, PAGE_DPI)
    assert [r for r in rules if r.horizontal] and all(
        abs(r.y0 - px(0, 490)[1]) < 6 for r in rules if r.horizontal)
    words = ocr(cleaned)
    assert {"Continental", "Casualty", "Company"} <= set(words)
    assert any("harborpoint" in w for w in words)


def test_a_period_ocr_dropped_after_an_abbreviation_is_restored():
    img = np.full((200, 900), 255, np.uint8)
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 1.2, 3
    (w_inc, h_inc), _ = cv2.getTextSize("Inc", font, scale, thick)
    cv2.putText(img, "Inc.", (50, 80), font, scale, 0, thick)  # printed with its dot
    cv2.putText(img, "Inc", (400, 80), font, scale, 0, thick)  # printed without
    cv2.putText(img, "Co", (50, 170), font, scale, 0, thick)
    cv2.putText(img, "Lumber", (50 + 60, 170), font, scale, 0, thick)  # the next word
    words = [Word("Inc", (50, 80 - h_inc, 50 + w_inc, 80), 0.95, 1),
             Word("Inc", (400, 80 - h_inc, 400 + w_inc, 80), 0.95, 1),
             Word("Co", (50, 170 - h_inc, 95, 170), 0.95, 1),
             Word("Lumber", (110, 170 - h_inc, 260, 170), 0.95, 1)]
    assert [w.text for w in restore_periods(words, img)] == ["Inc.", "Inc", "Co", "Lumber"]


def test_the_full_stop_ocr_dropped_after_a_descriptions_last_word_is_restored():
    # Of 9 descriptions misread on 81 scans (seeds 5656-5858), 4 had lost only that.
    img = np.full((200, 900), 255, np.uint8)
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 1.2, 3
    (w, h), _ = cv2.getTextSize("CONTRACT", font, scale, thick)
    cv2.putText(img, "CONTRACT.", (50, 80), font, scale, 0, thick)
    cv2.putText(img, "CONTRACT", (50, 170), font, scale, 0, thick)
    with_dot = Word("CONTRACT", (50, 80 - h, 50 + w, 80), 0.95, 1)
    without = Word("CONTRACT", (50, 170 - h, 50 + w, 170), 0.95, 1)
    page = PageContent(number=1, width=900, height=200, words=[with_dot, without],
                       source="ocr", image=img)
    assert closing_stop("BY WRITTEN CONTRACT", with_dot, page) == "BY WRITTEN CONTRACT."
    assert closing_stop("BY WRITTEN CONTRACT", without, page) == "BY WRITTEN CONTRACT"
    assert closing_stop("(SEE ATTACHED)", with_dot, page) == "(SEE ATTACHED)"
    # A misprinted page: the words sit 40 px left of where the extractors have them.
    moved = Word("CONTRACT", (90, 80 - h, 90 + w, 80), 0.95, 1)
    page.words, page.typed_offset = [moved], (-40, 0)
    assert closing_stop("CONTRACT", moved, page) == "CONTRACT."
    page.source = "text"  # a text layer has its periods
    assert closing_stop("CONTRACT", moved, page) == "CONTRACT"


def test_a_dot_ocr_kept_in_the_words_box_but_not_in_its_text_is_found():
    # A Courier "ENDORSEMENT." read "ENDORSEMENT", its box reaching over the dot.
    img = np.full((120, 900), 255, np.uint8)
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 1.2, 3
    (w, h), _ = cv2.getTextSize("ENDORSEMENT.", font, scale, thick)
    cv2.putText(img, "ENDORSEMENT.", (50, 80), font, scale, 0, thick)
    boxed = Word("ENDORSEMENT", (50, 80 - h, 50 + w, 80), 0.95, 1)
    page = PageContent(number=1, width=900, height=120, words=[boxed], source="ocr",
                       image=img)
    assert closing_stop("PER BLANKET ENDORSEMENT", boxed, page) == "PER BLANKET ENDORSEMENT."
    (w2, _), _ = cv2.getTextSize("ENDORSEMENT", font, scale, thick)
    img[:, 50 + w2 + 1:] = 255  # the dot gone: the box's last glyph is a T
    assert closing_stop("PER BLANKET ENDORSEMENT", boxed, page) == "PER BLANKET ENDORSEMENT"
    img[76, 50 + w - 3] = 90  # a one-pixel speck where the dot was: no dot
    assert closing_stop("PER BLANKET ENDORSEMENT", boxed, page) == "PER BLANKET ENDORSEMENT"


def test_a_box_well_under_the_forms_box_size_is_a_letter():
    img = np.full((300, 900), 255, np.uint8)
    for i in range(6):  # the form's check boxes, 25 px
        cv2.rectangle(img, (50 + 120 * i, 50), (74 + 120 * i, 74), 0, 2)
    cv2.rectangle(img, (50, 200), (67, 217), 0, 2)  # an 18 px "box": a bold letter's shape
    found = bx.find_boxes(img, PAGE_DPI)
    assert len(found) == 6
    assert all(b.bbox[1] < 100 for b in found)


def test_thickening_joins_a_light_faxs_broken_stroke():
    page = np.full((40, 60), 255, np.uint8)
    page[20, 5:25] = 0
    page[20, 26:50] = 0  # a one-pixel stroke with a one-pixel break
    out = pp.thicken(page)
    assert (out[20, 5:50] == 0).all() and (out < 128).sum() > 2 * (page < 128).sum()
