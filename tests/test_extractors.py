"""Extractors over hand-made word lists: what they do when OCR garbled a label."""

import numpy as np
from forms import grid_header

from extractors.coverages import DATE_CHARS, MONEY_CHARS, PolicyReader
from extractors.fields import Collector
from extractors.grid import Section, find_grid, find_sections
from extractors.header import read_header
from extractors.layout import build_layout
from extractors.policies import _others
from extractors.skeleton import find_skeleton
from pipeline.types import PageContent, Rule, Word


def _word(text: str, x: int, y: int, h: int = 26, char: int = 18) -> Word:
    return Word(text, (x, y, x + char * len(text), y + h), 0.95, 1)


def _header(contact_rows: list[list[tuple[int, str]]], step: int = 60) -> dict:
    words = [
        _word("DATE", 2100, 300), _word("(MM/DD/YYYY)", 2180, 300), _word("02/07/2024", 2150, 340),
        _word("PRODUCER", 60, 700),
        _word("Harbor", 70, 740), _word("Point", 200, 740), _word("Agency", 320, 740),
        _word("INSURED", 60, 1000), _word("Walsh", 70, 1040), _word("Carpentry", 200, 1040),
        _word("INSURER(S)", 1456, 950), _word("AFFORDING", 1660, 950),
        _word("COVERAGE", 1860, 950), _word("NAIC", 2217, 950), _word("#", 2300, 950),
        _word("INSURER", 1218, 1000), _word("A", 1360, 1000), _word(":", 1380, 1000),
        _word("Continental", 1420, 1000), _word("Casualty", 1640, 1000), _word("20443", 2213, 1000),
        _word("COVERAGES", 60, 1300),
    ]
    y = 720
    for row in contact_rows:
        words += [_word(t, x, y) for x, t in row]
        y += step
    page = PageContent(number=1, width=2550, height=3300, words=words, source="ocr")
    layout = build_layout(page)
    col = Collector(page=1)
    read_header(layout, find_skeleton(layout), col)
    return col.fields


def test_contact_values_are_found_by_their_shape_when_labels_are_garbled():
    fields = _header([
        [(1217, "pean"), (1325, "Tanya"), (1435, "Murphy")],
        [(1216, "tue"), (1270, "ex,"), (1360, "856-595-9845"), (1818, "EOS"),
         (1920, "856-539-0145")],
        [(1213, "pn"), (1280, "tanya"), (1390, ".murphy@harborpoint.com")],
    ])
    assert fields["producer.contact"].value == "Tanya Murphy"
    assert fields["producer.phone"].value == "(856) 595-9845"
    assert fields["producer.fax"].value == "(856) 539-0145"
    assert fields["producer.email"].value == "tanya.murphy@harborpoint.com"
    # Found without their labels: never as sure as a value read beside its label.
    assert all(fields[p].confidence < 0.9 for p in
               ("producer.contact", "producer.phone", "producer.fax", "producer.email"))
    assert fields["insurers.A.name"].value == "Continental Casualty"


def test_a_dot_ocr_dropped_from_an_email_is_put_back_for_review():
    # "NICOLE" "." "CASTILLO@..." with the dot dropped as a speck: the address lost its
    # first part ("castillo@...", accepted after a second read agreed).
    fields = _header([
        [(1218, "CONTACT"), (1360, "NAME:"), (1460, "Nicole")],
        [(1218, "PHONE"), (1330, "(A/C,"), (1440, "No,"), (1500, "Ext):"), (1600, "856-595-9845")],
        [(1218, "E-MAIL"), (1340, "ADDRESS:"), (1530, "NICOLE"), (1657, "CASTILLO@X.COM")],
    ])
    f = fields["producer.email"]
    assert f.value == "nicole.castillo@x.com"
    assert f.confidence < 0.8 and "dot" in f.notes[0]  # a guess: for review


def test_a_label_remnant_at_the_box_edge_is_not_part_of_the_address():
    fields = _header([
        [(1217, "pean"), (1325, "Tanya"), (1435, "Murphy")],
        [(1216, "tue"), (1360, "856-595-9845")],
        [(1216, "eatss."), (1340, "TANYA@HARBORPOINT.COM")],  # "ADDRESS:" garbled
    ])
    assert fields["producer.email"].value == "tanya@harborpoint.com"


def test_labelled_contact_values_win_over_shapes():
    fields = _header([
        [(1217, "CONTACT"), (1380, "NAME:"), (1500, "Tanya"), (1610, "Murphy")],
        [(1216, "PHONE"), (1330, "(A/C,"), (1440, "No,"), (1500, "Ext):"),
         (1620, "856-595-9845"), (1900, "FAX"), (1980, "(A/C,"), (2080, "No):"),
         (2160, "856-539-0145")],
        [(1213, "E-MAIL"), (1330, "ADDRESS:"), (1500, "tanya.murphy@harborpoint.com")],
    ])
    assert fields["producer.contact"].value == "Tanya Murphy"
    assert fields["producer.phone"].value == "(856) 595-9845"
    assert fields["producer.fax"].value == "(856) 539-0145"
    assert fields["producer.email"].value == "tanya.murphy@harborpoint.com"
    assert all(fields[p].confidence > 0.9 for p in
               ("producer.contact", "producer.phone", "producer.fax", "producer.email"))


def test_an_empty_phone_cell_does_not_take_the_fax_number():
    # "FAX" read as "|PAX": the number after it is still the fax, not the phone; and an
    # e-mail address OCR split around its "@" is joined again.
    fields = _header([
        [(1217, "CONTACT"), (1380, "NAME:"), (1500, "JAMES"), (1610, "GREENE")],
        [(1216, "PHONE"), (1330, "(A/C,"), (1440, "No,"), (1500, "Ext):"),
         (1900, "|PAX"), (1980, "(A/C,"), (2080, "No):"), (2160, "(860)"), (2260, "679-9327")],
        [(1213, "E-MAIL"), (1330, "ADDRESS:"), (1500, "CERTS"), (1600, "@"),
         (1630, "RIVERBEND.COM")],
    ])
    assert "producer.phone" not in fields
    assert fields["producer.fax"].value == "(860) 679-9327"
    assert fields["producer.fax"].confidence < 0.9
    assert fields["producer.email"].value == "certs@riverbend.com"


def test_an_empty_contact_cell_does_not_take_the_next_label():
    fields = _header([
        [(1217, "CONTACT"), (1380, "NAME:"), (1500, "FAX")],
        [(1216, "PHONE"), (1330, "(A/C,"), (1440, "No,"), (1500, "Ext):"),
         (1620, "856-595-9845")],
    ])
    assert "producer.contact" not in fields


def test_contact_name_without_the_rest_of_its_label():
    fields = _header([
        [(1217, "CONTACT"), (1380, "NAMES"), (1500, "Laura"), (1610, "Lindqvist")],
        [(1216, "PHONE"), (1330, "(A/C,"), (1440, "No,"), (1500, "Ext):"),
         (1620, "856-595-9845")],
    ])
    assert fields["producer.contact"].value == "Laura Lindqvist"


def test_contact_name_above_the_rows_of_a_two_line_phone_label():
    # "CONTACT NAME:" garbled to "cove'*T"; "PHONE" and "FAX" on rows of their own between
    # the name and the number, and the name's row starts with the label's remnants.
    fields = _header([
        [(1217, "cove'*T"), (1300, "ame."), (1356, "Daniel"), (1496, "Sullivan")],
        [(1216, "PHONE")],
        [(1900, "FAX")],
        [(1216, "(AG,"), (1290, "No."), (1382, "617-915-8680")],
    ], step=30)
    assert fields["producer.contact"].value == "Daniel Sullivan"
    assert fields["producer.contact"].confidence < 0.9


def test_a_label_above_the_phone_is_not_taken_for_the_contact():
    fields = _header([
        [(1217, "pean"), (1900, "FAX")],
        [(1216, "tue"), (1360, "856-595-9845"), (1920, "856-539-0145")],
    ])
    assert "producer.contact" not in fields
    assert fields["producer.phone"].value == "(856) 595-9845"


def _grid_page(limits_rule: int, garble: dict[str, str] | None = None) -> PageContent:
    """A coverage grid's header and first row; LIMITS centred over labels and amounts, with
    the rule between those two at ``limits_rule``."""
    w = _word
    words = [
        *grid_header(w),
        w("COMMERCIAL", 250, 1400), w("GENERAL", 450, 1400), w("LIABILITY", 590, 1400),
        w("EACH", 1680, 1400, char=12), w("OCCURRENCE", 1740, 1400, char=12),
        w("$", limits_rule + 10, 1400), w("1,000,000", limits_rule + 40, 1400),
    ]
    garble = garble or {}
    words = [Word(garble.get(f"{x.text}@{x.x0}", x.text), x.bbox, x.conf, x.page) for x in words]
    rules = [Rule(100, 1300, 2450, 1300), Rule(100, 1380, 2450, 1380),
             Rule(100, 1460, 2450, 1460)]
    rules += [Rule(x, 1300, x, 1700) for x in (100, 200, 730, 830, 910, 1320, 1520, 1670, 2450)]
    rules.append(Rule(limits_rule, 1380, limits_rule, 1700))  # below the header row only
    return PageContent(number=1, width=2550, height=3300, words=words, source="ocr", rules=rules)


def test_limits_column_starts_after_exp_wherever_its_inner_rule_is():
    # With the label/amount rule left of the middle of "LIMITS" the column used to start at
    # that rule, and every limit label of the certificate fell outside it.
    for inner in (1950, 2100):
        layout = build_layout(_grid_page(inner))
        grid = find_grid(layout, find_skeleton(layout))
        assert grid is not None
        assert grid.cols["H_LIMITS"][0] == 1670
        assert grid.cols["H_EXP"] == (1520, 1670)


def test_grid_found_with_its_first_label_and_three_headers_garbled():
    # A fax: "COMMERCIAL GENERAL LIABILITY" unreadable, so no section label points at the
    # header row; POLICY EFF / EXP and LIMITS garbled, found by their place in the form.
    garble = {"COMMERCIAL@250": "COMMBERG", "GENERAL@450": "IAD", "LIABILITY@590": "CIAHILTTY",
              "EFF@1435": "Ti", "POLICY@1335": "Poutey", "POLICY@1525": "honey",
              "EXP@1605": "END", "LIMITS@1929": "PIMs", "ADDL@745": "Abb", "INSD@745": "INSD"}
    layout = build_layout(_grid_page(2100, garble))
    assert layout.first("GL") is None
    grid = find_grid(layout, find_skeleton(layout))
    assert grid is not None
    assert grid.cols["H_EFF"] == (1320, 1520)
    assert grid.cols["H_EXP"] == (1520, 1670)
    assert grid.cols["H_LIMITS"][0] == 1670
    assert grid.cols["H_ADDL"] == (730, 830)


def test_a_garbled_date_and_amount_have_their_cells_read_again():
    page = _grid_page(2100)
    page.words = [w for w in page.words if w.text not in ("$", "1,000,000")] + [
        _word("GL7731", 950, 1400, char=14), _word("2-94-9023", 1330, 1400, char=14),
        _word("02/21/2024", 1530, 1400, char=12), _word("ss", 2110, 1400),
        _word("coo", 2200, 1400)]
    page.image = np.full((page.height, page.width), 255, np.uint8)
    for w in page.words:  # printing wherever a word was read
        x0, y0, x1, y1 = w.bbox
        page.image[y0 + 5:y1 - 5, x0 + 2:x1 - 2] = 0
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    col = Collector(page=1)
    reader = PolicyReader(layout, grid, col)
    base = "policies.general_liability"
    reader.common(base, grid.top, 1460)
    reader.limits(base, {"L_EACH_OCCURRENCE": "each_occurrence"}, grid.top, 1460)
    assert col.fields[f"{base}.expiration_date"].value == "2024-02-21"
    assert f"{base}.effective_date" not in col.fields
    asked = {r.charset: r.bbox for r in col.rereads}
    x0, _, x1, _ = asked[DATE_CHARS]
    assert (x0, x1) == (1320, 1520)  # the EFF cell only; EXP was read
    x0, y0, x1, y1 = asked[MONEY_CHARS]
    # Right of the label/amount rule (2100) and of the form's "$" printed there, left of
    # the amount (2200): a "$" in the cut would be read as a digit.
    assert 2100 < x0 + 5 < 2200 and y0 < 1400 < 1426 < y1


def test_dates_a_fax_split_at_their_slashes_are_read_whole():
    page = _grid_page(2100)
    page.words += [_word("GL7731", 950, 1400, char=14), _word("0218", 1340, 1400, char=14),
                   _word("26", 1410, 1400, char=14), _word("02:18:27", 1530, 1400, char=12)]
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    col = Collector(page=1)
    PolicyReader(layout, grid, col).common("policies.general_liability", grid.top, 1460)
    eff = col.fields["policies.general_liability.effective_date"]
    assert eff.value == "2026-02-18" and eff.raw == "0218 26"
    assert col.fields["policies.general_liability.expiration_date"].value == "2027-02-18"
    assert not col.rereads  # both dates read: no cell needs reading again


def test_the_forms_dollar_sign_is_left_out_of_an_amount_reread():
    from types import SimpleNamespace

    from extractors.cells import printed_sign_end

    img = np.full((60, 400), 255, np.uint8)
    img[15:45, 20:36] = 0  # the form's "$", one character wide
    img[15:45, 70:300] = 0  # the typed amount after a gap
    layout = SimpleNamespace(page=SimpleNamespace(image=img))
    end = printed_sign_end(layout, (0, 0, 400, 60), 30)
    assert 36 <= end <= 40  # just past the sign, before the amount
    img[15:45, 36:70] = 0  # no gap: a word, not a sign; fall back to 1.5 heights in
    assert printed_sign_end(layout, (0, 0, 400, 60), 30) == 45


def test_a_band_naming_two_lines_is_cut_between_them():
    # The rule between the auto and umbrella sections lost (a fax): one ruled band holds
    # both names, and each keeps its own rows.
    page = _grid_page(2100)
    w = _word
    page.words += [
        w("AUTOMOBILE", 250, 1480), w("LIABILITY", 450, 1480),
        w("COMBINED", 1680, 1480, char=12), w("SINGLE", 1790, 1480, char=12),
        w("LIMIT", 1870, 1480, char=12),
        w("ANY", 280, 1530), w("AUTO", 350, 1530),
        w("UMBRELLA", 250, 1600), w("LIAB", 420, 1600),
        w("EXCESS", 250, 1650), w("LIAB", 380, 1650),
        w("EACH", 1680, 1600, char=12), w("OCCURRENCE", 1740, 1600, char=12),
        w("AGGREGATE", 1680, 1650, char=12),
        w("WORKERS", 250, 1720), w("COMPENSATION", 400, 1720),
        w("PER", 1680, 1720, char=12), w("STATUTE", 1730, 1720, char=12),
        w("E.L.", 1680, 1760, char=12), w("EACH", 1740, 1760, char=12),
        w("ACCIDENT", 1800, 1760, char=12)]
    page.rules = [r for r in page.rules if r.horizontal] + [
        Rule(x, 1300, x, 1900) for x in (100, 200, 730, 830, 910, 1320, 1520, 1670, 2450)] + [
        Rule(2100, 1380, 2100, 1900), Rule(100, 1700, 2450, 1700), Rule(100, 1800, 2450, 1800)]
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    kinds = [(s.kind, s.y0, s.y1) for s in find_sections(layout, grid)]
    auto = next(s for s in kinds if s[0] == "auto")
    umb = next(s for s in kinds if s[0] == "umbrella")
    assert auto[1] <= 1460 and 1560 < auto[2] == umb[1] < 1600
    assert ("wc", 1700, 1800) in [(k, round(a), round(b)) for k, a, b in kinds]


def test_a_free_row_without_number_date_or_letter_is_no_policy():
    page = _grid_page(2100)
    page.words += [_word("PROFESSIONAL", 250, 1480), _word("PL-88213", 940, 1480, char=14),
                   _word("01/01/2026", 1330, 1480, char=14),
                   _word("LIABILITY", 250, 1520)]  # the type's second line
    page.image = np.full((page.height, page.width), 255, np.uint8)
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    col = Collector(page=1)
    _others(PolicyReader(layout, grid, col), grid, Section("other", 1460, 1700, None))
    assert col.fields["policies.other.policy_number"].value == "PL-88213"
    assert not [p for p in col.fields if p.startswith("policies.other#2")]


def test_two_numbers_beside_phone_with_the_fax_label_garbled():
    fields = _header([
        [(1217, "CONTACT"), (1380, "NAME:"), (1500, "KAREN"), (1610, "O'BRIEN")],
        [(1216, "PHONE"), (1417, "856.323.7173"), (1838, "li"), (1859, "'AX"),
         (1955, "856.647.3311")],
    ])
    assert fields["producer.phone"].value == "(856) 323-7173"
    assert fields["producer.fax"].value == "(856) 647-3311"
    assert fields["producer.fax"].confidence < 0.9


def test_the_band_above_auto_is_not_taken_for_the_header_row():
    # "COMMERCIAL GENERAL LIABILITY" unread: AUTOMOBILE opens the grid, and the ruled band
    # above it (GL's last row) holds "LIMIT", "EXP" and "NUMBER" in the wrong places.
    garble = {"COMMERCIAL@250": "COMMBERG", "GENERAL@450": "IAD", "LIABILITY@590": "CIAHILTTY"}
    page = _grid_page(2100, garble)
    w = _word
    page.words += [
        w("NUMBER", 215, 1555, char=12),
        w("GEN'L", 250, 1555), w("AGGREGATE", 360, 1555), w("LIMIT", 540, 1555),
        w("APPLIES", 640, 1555, char=10),
        w("MED", 1680, 1555, char=12), w("EXP", 1730, 1555, char=12),
        w("AUTOMOBILE", 250, 1615), w("LIABILITY", 450, 1615),
        w("COMBINED", 1680, 1615, char=12), w("SINGLE", 1790, 1615, char=12),
        w("LIMIT", 1870, 1615, char=12)]
    page.rules += [Rule(100, 1540, 2450, 1540), Rule(100, 1600, 2450, 1600),
                   Rule(100, 1690, 2450, 1690)]
    layout = build_layout(page)
    grid = find_grid(layout, find_skeleton(layout))
    assert grid is not None and grid.top == 1380
    assert grid.cols["H_POLNUM"] == (910, 1320)


def test_a_light_gray_mark_in_a_cell_is_printing_not_a_blank():
    # A thin face's lone "Y" at 150 dpi: a few pixels under the ink gray, over a hundred
    # under the faint one (seed 9999: three such marks read as blank cells at 0.97).
    import cv2

    from extractors.fields import cell_has_faint_ink, cell_has_ink

    img = np.full((200, 300), 250, np.uint8)
    cv2.putText(img, "Y", (40, 140), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 150, 2, cv2.LINE_AA)
    img[60:62, 200:202] = 120  # a speck in the blank cell
    page = PageContent(number=1, width=300, height=200, words=[], source="ocr", image=img)
    layout = build_layout(page)
    mark, blank = (0, 0, 150, 200), (150, 0, 300, 200)
    assert not cell_has_ink(layout, mark) and cell_has_faint_ink(layout, mark)
    assert not cell_has_ink(layout, blank) and not cell_has_faint_ink(layout, blank)
