"""The coverage grid read from its ruled lines where a fax garbled the printed labels."""

import numpy as np
from forms import grid_header

from extractors.coverages import MONEY_CHARS, PolicyReader
from extractors.fields import Collector
from extractors.grid import Grid, Section, find_grid, find_sections
from extractors.gridrules import columns_by_rules, kinds_by_form_order, limit_rows
from extractors.header import read_header
from extractors.layout import build_layout
from extractors.lines import GL_LIMITS
from extractors.skeleton import find_skeleton
from pipeline.types import CheckBox, PageContent, Rule, Word

XS = [100, 200, 730, 830, 910, 1320, 1520, 1670, 2450]  # the header row's vertical rules


def _w(text: str, x: int, y: int, h: int = 26, char: int = 18, conf: float = 0.95) -> Word:
    return Word(text, (x, y, x + char * len(text), y + h), conf, 1)


def test_columns_named_by_their_place_between_the_rules():
    # A fax read "TYPE OF INSURANCE" as "INST RAN", taken for INSR: one header out of its
    # cell, six in theirs.
    heads = {"H_INSR": (450, 1330, 560, 1360), "H_ADDL": (745, 1310, 810, 1370),
             "H_SUBR": (838, 1310, 900, 1370), "H_POLNUM": (1050, 1310, 1160, 1370),
             "H_EXP": (1525, 1310, 1640, 1340), "H_LIMITS": (1929, 1330, 2010, 1360)}
    cols = columns_by_rules(XS, heads)
    assert cols is not None
    assert cols["H_INSR"] == (100, 200) and cols["H_TYPE"] == (200, 730)
    assert cols["H_EFF"] == (1320, 1520) and cols["H_LIMITS"] == (1670, 2450)
    # A photo's page edge crossing the header row as well: one rule too many.
    assert columns_by_rules([17, *XS], heads) == cols
    # Two headers out of place: the rules are not the form's columns after all.
    heads["H_EXP"] = (1050, 1310, 1160, 1370)
    assert columns_by_rules(XS, heads) is None
    # A rule lost (SUBR | POLICY NUMBER): seven cells are no edition's columns here; named
    # as the 2009 form's (no SUBR WVD) they shifted a fax's flags into the wrong columns.
    heads["H_EXP"] = (1525, 1310, 1640, 1340)
    assert columns_by_rules([x for x in XS if x != 910], heads) is None


def test_unvoted_bands_are_named_by_the_forms_order_and_their_limit_rows():
    kinds = ["gl", "auto", "other", "other", "other", "other"]
    assert kinds_by_form_order(kinds, [7, 5, 3, 4, 1, 1]) == [
        "gl", "auto", "umbrella", "wc", "other", "other"]
    # Nothing fits after WORKERS COMPENSATION: three free rows stay free rows.
    assert kinds_by_form_order(["gl", "wc", "other"], [7, 4, 3]) == ["gl", "wc", "other"]
    # A band whose row count fits no section between its neighbours keeps "other".
    assert kinds_by_form_order(["gl", "other", "wc"], [7, 2, 4]) == ["gl", "other", "wc"]


ROW = 50
GL_TOP = 1460


def _garbled_gl_page(labels: dict[int, str]) -> PageContent:
    """The header row read, then a GL section of seven ruled limit rows whose labels are
    garbled except those in ``labels`` (row -> text); an amount typed in rows 0-5."""
    w = _w
    words = [
        *grid_header(w),
        w("COMMERCIAL", 250, GL_TOP + 12), w("GENERAL", 450, GL_TOP + 12),
        w("LIABILITY", 590, GL_TOP + 12), w("GL7731", 950, GL_TOP + 12, char=14),
        w("02/21/2024", 1330, GL_TOP + 12, char=14), w("02/21/2025", 1530, GL_TOP + 12, char=12),
    ]
    amounts = ["1,000,000", "300,000", "10,000", "1,000,000", "2,000,000", "2,000,000"]
    garbled = ["LACH", "DAN AGS", "NED TAP", "TRSONAT", "GENE RA", "PRODLCT"]
    for i, amount in enumerate(amounts):
        y = GL_TOP + i * ROW + 12
        words.append(w(labels.get(i, garbled[i]), 1690, y, char=14))
        words.append(w(amount, 2200, y, char=16))
    rules = [Rule(100, 1300, 2450, 1300), Rule(100, 1380, 2450, 1380),
             Rule(100, GL_TOP, 2450, GL_TOP), Rule(100, GL_TOP + 7 * ROW, 2450, GL_TOP + 7 * ROW)]
    rules += [Rule(1670, GL_TOP + i * ROW, 2450, GL_TOP + i * ROW) for i in range(1, 7)]
    rules += [Rule(x, 1300, x, GL_TOP + 7 * ROW) for x in XS]
    rules.append(Rule(2100, GL_TOP, 2100, GL_TOP + 7 * ROW))  # labels | amounts
    return PageContent(number=1, width=2550, height=3300, words=words, source="ocr", rules=rules)


def _gl_limits(page: PageContent) -> tuple[dict, Collector]:
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    assert grid is not None
    col = Collector(page=1)
    PolicyReader(layout, grid, col).limits("policies.gl", GL_LIMITS, GL_TOP, GL_TOP + 7 * ROW,
                                           "gl")
    return {p.rsplit(".", 1)[1]: f for p, f in col.fields.items()}, col


def test_a_short_amount_whose_one_ocr_read_as_a_letter_is_read():
    # "$1M" read "$IM" on a fax: no digit in it, so it was no amount at all.
    page = _garbled_gl_page({0: "EACH OCCURRENCE"})
    [i] = [k for k, w in enumerate(page.words) if w.text == "1,000,000" and w.y0 > GL_TOP + ROW]
    page.words[i] = Word("$IM", page.words[i].bbox, 0.95, 1)
    got, _ = _gl_limits(page)
    assert got["personal_advertising_injury"].value == 1000000
    assert got["personal_advertising_injury"].confidence < 0.8  # mended, not read


def test_limits_whose_labels_are_garbled_are_named_by_their_row():
    got, _ = _gl_limits(_garbled_gl_page({0: "EACH OCCURRENCE"}))
    assert {k: f.value for k, f in got.items()} == {
        "each_occurrence": 1000000, "damage_to_rented_premises": 300000,
        "medical_expense": 10000, "personal_advertising_injury": 1000000,
        "general_aggregate": 2000000, "products_completed_operations_aggregate": 2000000}
    assert got["each_occurrence"].confidence > got["medical_expense"].confidence
    assert "label unread" in got["medical_expense"].notes[0]


def test_no_limit_is_named_by_its_row_when_a_read_label_is_elsewhere():
    # "MED EXP" read in the second row: these rows are not the form's order.
    got, _ = _gl_limits(_garbled_gl_page({1: "MED EXP"}))
    assert set(got) == {"medical_expense"}


def test_an_unread_amount_in_a_named_row_is_read_again():
    page = _garbled_gl_page({0: "EACH OCCURRENCE"})
    page.words = [x for x in page.words if x.text != "10,000"]
    page.image = np.full((page.height, page.width), 255, np.uint8)
    page.image[GL_TOP + 2 * ROW + 12:GL_TOP + 2 * ROW + 36, 2200:2340] = 0  # its ink
    got, col = _gl_limits(page)
    assert "medical_expense" not in got
    [reread] = [r for r in col.rereads if r.charset == MONEY_CHARS]
    x0, y0, x1, y1 = reread.bbox
    assert x0 >= 2090 and (y0, y1) == (GL_TOP + 2 * ROW, GL_TOP + 3 * ROW)


def test_limit_rows_are_the_ruled_rows_of_the_limits_column():
    layout = build_layout(_garbled_gl_page({}))
    rows = limit_rows(layout, (1670, 2450), GL_TOP, GL_TOP + 7 * ROW)
    assert len(rows) == 7 and rows[0] == (GL_TOP, GL_TOP + ROW)


def test_a_grid_whose_headers_are_all_unreadable_is_found_by_its_rules():
    # A light fax of a 6-point serif: no header word read, and the rule between the
    # disclaimer and the header row lost; the first section band has the grid's nine cells.
    page = _garbled_gl_page({})
    page.words = [x for x in page.words if x.y0 < 1300 or x.y0 >= GL_TOP]
    page.rules = [r for r in page.rules if not (r.horizontal and r.y0 == 1380)]
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    assert grid is not None
    assert grid.cols["H_POLNUM"] == (910, 1320) and grid.cols["H_LIMITS"] == (1670, 2450)
    assert grid.top == GL_TOP
    assert [s.kind for s in find_sections(layout, grid)] == ["gl"]


def test_the_certificate_date_right_of_the_title_when_its_label_is_unread():
    words = [_w("CERTIFICATE", 660, 330, h=46, char=30), _w("OF", 1010, 330, h=46, char=30),
             _w("LIABILITY", 1090, 330, h=46, char=30), _w("INSURANCE", 1370, 330, h=46, char=30),
             _w("DATE", 2000, 300, conf=0.2), _w("OM", 2090, 300, conf=0.2),
             _w("09,27:2024", 2050, 350),
             _w("JUL-20-2026", 100, 10),  # the fax header line: when it was sent
             _w("PRODUCER", 60, 700), _w("COVERAGES", 60, 1300)]
    page = PageContent(number=1, width=2550, height=3300, words=words, source="ocr")
    layout = build_layout(page)
    sk = find_skeleton(layout)
    assert sk.date is None
    col = Collector(page=1)
    read_header(layout, sk, col)
    assert col.fields["certificate_date"].value == "2024-09-27"
    assert col.fields["certificate_date"].confidence < 0.8  # a guess by place


def _boxes_page(ocr_labels: dict[str, str]) -> PageContent:
    """The GL section of _garbled_gl_page with its seven check boxes: COMMERCIAL GENERAL
    LIABILITY and OCCUR and POLICY checked; option labels as ``ocr_labels`` says."""
    page = _garbled_gl_page({0: "EACH OCCURRENCE"})
    page.words = [x for x in page.words if x.text not in ("COMMERCIAL", "GENERAL", "LIABILITY")]
    rows = [(0, [(210, 0.5, "GL")]), (1, [(240, 0.0, "CLAIMS_MADE"), (470, 0.45, "OCCUR")]),
            (5, [(210, 0.5, "OPT_POLICY"), (370, 0.0, "OPT_PROJECT"), (540, 0.0, "OPT_LOC")]),
            (6, [(210, 0.0, "GL_OTHER")])]
    for row, boxes in rows:
        y = GL_TOP + row * ROW + 9
        for x, fill, lid in boxes:
            page.boxes.append(CheckBox((x, y, x + 32, y + 32), fill))
            page.words.append(_w(ocr_labels.get(lid, "(x(UR"), x + 40, y + 3, char=15))
    return page


def _gl_checks(page: PageContent) -> dict[str, tuple[bool, float]]:
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    reader = PolicyReader(layout, grid, Collector(page=1))
    sec = Section("gl", GL_TOP, GL_TOP + 7 * ROW, None)
    reader.enter(sec)
    out = {}
    for lid in ("CLAIMS_MADE", "OCCUR", "OPT_POLICY", "OPT_PROJECT", "OPT_LOC"):
        val, conf, hit = reader.checked(lid, sec.y0, sec.y1)
        if hit is not None:
            out[lid] = (val, conf)
    return out


def test_option_boxes_whose_labels_are_garbled_are_named_by_their_place():
    got = _gl_checks(_boxes_page({}))
    assert {k: v for k, (v, _) in got.items()} == {
        "CLAIMS_MADE": False, "OCCUR": True, "OPT_POLICY": True, "OPT_PROJECT": False,
        "OPT_LOC": False}
    assert all(c < 0.99 for _, c in got.values())  # less sure than a read label


def test_no_option_is_named_by_its_place_when_a_read_label_is_beside_another_box():
    # "OCCUR" read beside the first box of the second row: not the form's order.
    page = _boxes_page({"CLAIMS_MADE": "OCCUR"})
    got = _gl_checks(page)
    assert set(got) == {"OCCUR"}  # only the label as read; no box by place


def test_a_labels_box_is_the_one_level_with_its_first_line():
    # A 150-dpi scan: the next option's box, a row down, lies within half a line of the
    # label's bottom too, and ANY AUTO was read checked by OWNED AUTOS ONLY's mark.
    from extractors.checkbox import is_checked

    words = [_w("ANY", 272, 1715, h=34), _w("AUTO", 340, 1715, h=34)]
    page = PageContent(number=1, width=2550, height=3300, words=words, source="ocr",
                       boxes=[CheckBox((239, 1763, 271, 1795), 0.58),
                              CheckBox((239, 1714, 271, 1746), 0.0)])
    page.image = np.full((3300, 2550), 255, np.uint8)
    layout = build_layout(page)
    [hit] = layout.all("ANY_AUTO")
    val, _, box, _ = is_checked(layout, hit)
    assert not val and box == (239, 1714, 271, 1746)


def test_columns_from_the_first_sections_rules_when_the_header_rows_are_lost():
    # A fax lost the header row's vertical rules, and "SUBR" read "lsusrl" ran into "ADDL":
    # by the header words alone ADDL was two columns wide and SUBR WVD was lost.
    page = _garbled_gl_page({0: "EACH OCCURRENCE"})
    garble = {"SUBR": "lsusrl", "WVD": "WWD"}
    page.words = [Word(garble.get(x.text, x.text), (x.x0, x.y0 + 80, x.x1, x.y1 + 80)
                       if 1300 <= x.y0 < 1380 else x.bbox, x.conf, 1) for x in page.words]
    page.words = [Word(x.text, (x.x0 - 20, x.y0, x.x1, x.y1), x.conf, 1)
                  if x.text == "lsusrl" else x for x in page.words]
    page.rules = [r for r in page.rules if r.horizontal and r.y0 != 1300] + [
        Rule(r.x0, GL_TOP, r.x1, r.y1) for r in page.rules if not r.horizontal]
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    assert grid is not None
    assert grid.cols["H_ADDL"] == (730, 830) and grid.cols["H_SUBR"] == (830, 910)
    assert grid.cols["H_POLNUM"] == (910, 1320)


def _wc_page(words: list[Word]) -> tuple[PolicyReader, Section]:
    """A workers compensation section: the Y/N box in the TYPE column (its labels garbled),
    PER STATUTE (checked) and OTH-ER boxes in the first limit row."""
    page = PageContent(number=1, width=2550, height=3300, words=words, source="ocr",
                       boxes=[CheckBox((670, 2120, 720, 2170), 0.05),
                              CheckBox((1690, 2062, 1720, 2092), 0.4),
                              CheckBox((2110, 2062, 2140, 2092), 0.0)])
    page.image = np.full((3300, 2550), 255, np.uint8)
    layout = build_layout(page)
    grid = Grid(cols=dict(zip(("H_INSR", "H_TYPE", "H_ADDL", "H_SUBR", "H_POLNUM", "H_EFF",
                               "H_EXP", "H_LIMITS"), zip(XS, XS[1:], strict=False),
                              strict=True)), top=1380, bottom=2400)
    reader = PolicyReader(layout, grid, Collector(page=1))
    sec = Section("wc", 2050, 2260, None)
    reader.enter(sec)
    return reader, sec


def test_per_statute_and_the_proprietor_box_by_their_place():
    words = [_w("TERSIEATUTE", 1725, 2065, char=12), _w("OH", 2145, 2065), _w("N", 685, 2130),
             _w("AMEN", 220, 2135), _w("SNGER", 300, 2135)]  # garbled labels
    reader, sec = _wc_page(words)
    val, conf, hit = reader.checked("PER_STATUTE", sec.y0, sec.y1, col="H_LIMITS")
    assert hit is not None and val and conf < 0.99
    from extractors.policies import _proprietor

    _proprietor(reader, "policies.workers_compensation", sec)
    assert reader.col.fields["policies.workers_compensation.proprietor_excluded"].value is False


def test_a_label_read_beside_another_options_box_is_that_ones_misreading():
    # "WNED", NON-OWNED's tail with "NON-" lost, matched OWNED beside NON-OWNED's (empty)
    # box: OWNED AUTOS ONLY read checked at 1.0, NON-OWNED lost.
    page = _garbled_gl_page({0: "EACH OCCURRENCE"})
    page.words = [x for x in page.words if x.text not in ("COMMERCIAL", "GENERAL", "LIABILITY")]
    rows = [(1, [(210, 0.0, "ANY AUTO")]),
            (2, [(210, 0.5, "QVNFQ"), (470, 0.0, "SCHEDULED")]),  # OWNED garbled
            (3, [(210, 0.5, "HIRED"), (470, 0.0, "WNED")])]
    for row, boxes in rows:
        y = GL_TOP + row * ROW + 9
        for x, fill, text in boxes:
            page.boxes.append(CheckBox((x, y, x + 32, y + 32), fill))
            page.words += [_w(t, x + 40 + 100 * k, y + 3, char=15)
                           for k, t in enumerate(text.split())]
    page.image = np.full((page.height, page.width), 255, np.uint8)
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    reader = PolicyReader(layout, grid, Collector(page=1))
    sec = Section("auto", GL_TOP, GL_TOP + 5 * ROW, None)
    reader.enter(sec)
    got = {lid: reader.checked(lid, sec.y0, sec.y1)[0]
           for lid in ("ANY_AUTO", "OWNED_AUTOS", "SCHEDULED_AUTOS", "HIRED_AUTOS",
                       "NON_OWNED_AUTOS")}
    assert got == {"ANY_AUTO": False, "OWNED_AUTOS": True, "SCHEDULED_AUTOS": False,
                   "HIRED_AUTOS": True, "NON_OWNED_AUTOS": False}
    _, _, hit = reader.checked("OWNED_AUTOS", sec.y0, sec.y1)
    assert hit is not None and hit.x0 < 300  # its own box, not NON-OWNED's
