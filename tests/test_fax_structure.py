"""A fax's garbled labels and broken rules, read by the form's structure: the top part's
column rule, insurer rows counted past a misread letter, a header rule in pieces, and policy
dates filled in from the others.  Pages are made of words and rules, as OCR gives them."""

from forms import insurer_rows

from extractors.fields import Collector
from extractors.gridrules import long_rule_ys
from extractors.header import read_bottom, read_header
from extractors.layout import build_layout
from extractors.policydates import FILLED_CONFIDENCE, fill_dates
from extractors.skeleton import find_skeleton
from extractors.validate import assign_status
from pipeline.types import FieldValue, PageContent, Rule, Word


def _w(text: str, x: int, y: int, h: int = 18, char: int = 14) -> Word:
    return Word(text, (x, y, x + char * len(text), y + h), 0.95, 1)


def _typed(text: str, x: int, y: int) -> Word:
    return _w(text, x, y, h=28, char=20)


def _page(words: list[Word], rules: list[Rule]) -> PageContent:
    return PageContent(number=1, width=2550, height=3300, words=words, source="ocr",
                       rules=rules)


def _read_top(page: PageContent) -> dict:
    layout = build_layout(page)
    col = Collector(page=1)
    read_header(layout, find_skeleton(layout), col)
    return {p: f.value for p, f in col.fields.items()}


def _top(right: list[Word], rules: list[Rule]) -> PageContent:
    """PRODUCER and INSURED boxes on the left, ``right`` in the column beside them."""
    words = [
        _w("PRODUCER", 102, 603),
        _typed("EVERGREEN", 138, 631), _typed("BROKERAGE", 363, 631),
        _typed("8989", 137, 674), _typed("WALNUT", 221, 674), _typed("LN", 380, 674),
        _w("INSURED", 102, 857),
        _typed("CEDAR", 135, 886), _typed("HOLLOW", 266, 886), _typed("STEEL", 428, 886),
        _typed("1302", 139, 927), _typed("JEFFERSON", 221, 927), _typed("RD", 439, 927),
        _w("COVERAGES", 102, 1132),
        *right,
    ]
    return _page(words, rules)


def test_the_top_columns_are_parted_by_their_rule_when_no_right_label_is_read():
    # A light fax: CONTACT, PHONE, E-MAIL and every INSURER label garbled ("cnnciva",
    # "SINSURER", "INSURLR").  The producer and the insured were not read at all; the
    # vertical rule down the top part, in pieces, parts the two columns.
    right = [_w("cnnciva", 1320, 608), _typed("ROBERT", 1534, 601),
             _w("SINSURER", 1312, 862), _typed("THE", 1479, 803), _typed("OHIO", 1557, 803)]
    rules = [Rule(1313, 703, 1313, 835), Rule(1313, 904, 1313, 985), Rule(92, 590, 2463, 590),
             Rule(92, 844, 1313, 844)]
    got = _read_top(_top(right, rules))
    assert got["producer.name"] == "EVERGREEN BROKERAGE"
    assert got["producer.address"] == "8989 WALNUT LN"
    assert got["insured.name"] == "CEDAR HOLLOW STEEL"
    assert "ROBERT" not in str(got.get("producer.name"))


def test_no_column_rule_no_guess():
    # No rule down the middle (only the page border's): nothing is read into the boxes
    # rather than the right column's words with them.
    right = [_w("cnnciva", 1320, 608), _typed("ROBERT", 1534, 601)]
    got = _read_top(_top(right, [Rule(92, 590, 92, 1100), Rule(2463, 590, 2463, 1100)]))
    assert "producer.name" not in got


def test_a_garbled_fax_label_level_with_phone_is_not_taken_for_the_number():
    # "FAX" read "FAN", level with the small "PHONE" label, while the typed numbers sit a
    # little lower: the phone was read as "FAN", no number, and lost.
    right = [Word(t, b, 0.9, 1) for t, b in (
        ("PHONE", (1202, 598, 1269, 614)), ("614.771.5144", (1359, 606, 1625, 631)),
        ("FAN", (1859, 598, 1903, 614)), ("614.781.0957", (1976, 606, 2241, 631)),
        # The labels' second line, "(A/C, No, Ext):" and "(A/C, No):", garbled.
        ("fAU", (1201, 624, 1235, 637)), ("NG", (1257, 624, 1282, 636)),
        ("Fa", (1298, 623, 1335, 637)), ("fAC", (1859, 624, 1894, 637)),
        ("Nes", (1918, 623, 1951, 636)))]
    got = _read_top(_top(right, [Rule(1195, 590, 1195, 1100)]))
    assert got["producer.phone"] == "(614) 771-5144"
    assert got["producer.fax"] == "(614) 781-0957"


def _contact_row(words: list[tuple[str, tuple[int, int, int, int], float]]) -> dict:
    right = [Word(t, b, c, 1) for t, b, c in words] + [
        Word("801.406.6657", (1333, 689, 1611, 716), 0.9, 1),
        Word("INSURER(S)", (1371, 792, 1450, 810), 0.9, 1),
        Word("NAIC", (2203, 793, 2281, 810), 0.9, 1)]
    return _read_top(_top(right, [Rule(1059, 590, 1059, 1100)]))


def test_a_label_wreck_read_at_no_confidence_is_no_part_of_the_contact():
    # "CONTACT NAME:" read "CONTAC" "ENA", the second at 0.0: "ENA Thomas Ramirez" was
    # accepted.  Run together into one word ("CONLMCENANY", no label found), likewise.
    name = [("Thomas", (1290, 638, 1428, 664), 0.9), ("Ramirez", (1455, 637, 1619, 666), 0.95)]
    got = _contact_row([("CONTACT", (1064, 633, 1170, 674), 0.9),
                        ("ENA", (1176, 641, 1255, 659), 0.0), *name])
    assert got["producer.contact"] == "Thomas Ramirez"
    got = _contact_row([("CONLMCENANY", (1064, 641, 1258, 659), 0.0), *name])
    assert got["producer.contact"] == "Thomas Ramirez"


def _insurers(labels: list[str]) -> PageContent:
    return insurer_rows(_w, labels)


def test_a_letter_misread_in_another_row_does_not_stop_the_others_being_counted():
    # Row A's and B's labels garbled past matching, C read, and F's "INSURER F" read
    # "INSMERERE", taken for E: before, the two disagreeing letters left every insurer unread.
    got = _read_top(_insurers(["INVUKRIEKR", "INMERIR", "INSURER C", "", "", "INSMERERE"]))
    assert got["insurers.A.name"] == "ERIE INSURANCE EXCHANGE"
    assert got["insurers.B.name"] == "OWNERS INSURANCE COMPANY"
    assert got["insurers.C.naic"] == "29459"


def test_row_a_is_counted_from_a_letter_several_rows_below():
    # Only "INSURER D" read: row A is three rows up, further than the rules looked before.
    got = _read_top(_insurers(["INNPRER A", "", "", "INSURER D", "", ""]))
    assert got["insurers.A.name"] == "ERIE INSURANCE EXCHANGE"
    assert got["insurers.A.naic"] == "26271"


def test_a_word_boxed_across_two_insurer_rows_is_the_upper_ones():
    # OCR's box around "Company" reached down into D's row: it was read as insurer E,
    # an insurer the certificate does not have, and accepted.
    page = _insurers(["INSURER A", "INSURER B", "INSURER C", "INSURER D", "", ""])
    page.words.append(Word("COMPANY", (1930, 1022, 2080, 1064), 0.96, 1))
    got = _read_top(page)
    assert got["insurers.C.name"] == "TWIN CITY FIRE COMPANY"
    assert "insurers.D.name" not in got


def _skeleton_without(labels: list[str], lost_y: int) -> dict:
    page = _insurers(labels)
    page.rules = [r for r in page.rules if not (r.y0 == lost_y and r.x1 - r.x0 > 1000)]
    layout = build_layout(page)
    return {k: [w.text for w in v.words] for k, v in find_skeleton(layout).insurers.items()}


def test_a_letter_whose_row_lost_its_rule_is_kept_and_nothing_is_counted():
    # The rule under F lost: F, read exactly, sits in no row.  It was deleted and E placed.
    got = _skeleton_without(["INSURER A", "INSURER B", "INSURER C", "INSURER D", "",
                             "INSURER F"], 1190)
    assert sorted(got) == ["A", "B", "C", "D", "F"]


def test_rows_merged_by_a_lost_rule_place_no_insurer():
    # The rule between C and D lost: counted through the merged row, D's name went to E's
    # row and E's to F's, accepted.
    got = _skeleton_without(["INSURER A", "INSURER B", "", "INSURFR D", "INSURFR E", ""],
                            1055)
    assert "C" not in got and "F" not in got


def test_two_clean_labels_that_disagree_still_place_nothing():
    got = _read_top(_insurers(["", "INSURER A", "INSURER C", "", "", ""]))
    assert "insurers.B.name" not in got


def _bottom(title: list[str]) -> dict:
    words = [_w("INSURED", 165, 987), _w("COVERAGES", 165, 1285),
             # The workers compensation row's "describe under DESCRIPTION OF OPERATIONS".
             _w("describe", 240, 2300), _w("under", 360, 2300), _w("DESCRIPTION", 450, 2300),
             _w("OF", 610, 2300), _w("OPERATIONS", 650, 2300), _w("below", 800, 2300),
             *[_w(t, 103 + 120 * k, 2493) for k, t in enumerate(title)],
             _typed("WORKERS", 115, 2528), _typed("COMPENSATION", 303, 2528),
             _typed("WAIVER", 594, 2528), _w("CERTIFICATE", 165, 2711), _w("HOLDER", 330, 2711),
             _w("CANCELLATION", 1327, 2711), _typed("City", 180, 2760), _typed("Hall", 280, 2760)]
    layout = build_layout(_page(words, []))
    col = Collector(page=1)
    read_bottom(layout, find_skeleton(layout), col)
    return {p: f.value for p, f in col.fields.items()}


def test_a_description_title_garbled_past_matching_is_the_row_that_reads_like_it():
    got = _bottom(["DEM", "RIPEON", "OF", "OFERAUONS", "LOC", "VTHIONS", "VEHI", "LES",
                   "VCORD", "0", "Additonal", "Reads"])
    assert got["description_of_operations"] == "WORKERS COMPENSATION WAIVER"
    assert got["certificate_holder.name"] == "City Hall"


def test_a_word_as_tall_as_two_lines_does_not_hide_the_descriptions_first_line():
    # OCR boxed the title's row and a piece of the first line together ("MPENSATION",
    # 51 px tall): the first line was taken for the title's and the description, read
    # from the second line only, accepted.
    words = [_w("COVERAGES", 165, 1285),
             _w("DESCRIPTION", 140, 2489), _w("OF", 304, 2489), _w("OPERATIONS", 341, 2489),
             Word("MPENSATION", (1922, 2502, 2146, 2553), 0.85, 1),
             _typed("COVERAGE", 154, 2529), _typed("IS", 361, 2530), _typed("SUBJECT", 426, 2530),
             _typed("SUBROGATION", 154, 2575), _typed("APPLIES", 424, 2576),
             _w("CERTIFICATE", 144, 2713), _w("HOLDER", 330, 2713)]
    layout = build_layout(_page(words, []))
    col = Collector(page=1)
    read_bottom(layout, find_skeleton(layout), col)
    assert col.fields["description_of_operations"].value.startswith("COVERAGE IS SUBJECT")


def test_a_row_saying_only_additional_and_operations_is_no_description_title():
    got = _bottom(["ADDITIONAL", "INSURED", "FOR", "OPERATIONS", "REQUIRED"])
    assert "description_of_operations" not in got


def test_a_typed_line_naming_operations_and_locations_is_no_description_title():
    # The title lost altogether; a typed line below it has three of its words.
    words = [_w("COVERAGES", 165, 1285),
             *[_typed(t, 115 + 200 * k, 2528) for k, t in enumerate(
                 ["Additional", "insured", "for", "operations", "at", "all", "locations"])],
             *[_typed(t, 115 + 200 * k, 2572) for k, t in enumerate(["per", "contract"])],
             _w("CERTIFICATE", 144, 2713), _w("HOLDER", 330, 2713)]
    layout = build_layout(_page(words, []))
    assert find_skeleton(layout).description is None


def test_a_rule_in_pieces_across_the_page_is_one_long_rule():
    # The header row's top rule, its middle lost on a fax: 356 + 766 px of a 2550 px page,
    # from one side to the other.  A short rule alone (a box) is not one.
    page = _page([_w("X", 100, 100)], [Rule(129, 1230, 485, 1230), Rule(1700, 1227, 2466, 1227),
                                       Rule(129, 1297, 2466, 1297), Rule(129, 1500, 900, 1500)])
    assert long_rule_ys(build_layout(page)) == [1227, 1297]


def _dates(**fields: str) -> Collector:
    col = Collector(page=1)
    for path, value in fields.items():
        col.fields[path.replace("__", ".")] = FieldValue(path, value, 0.95, 1, (0, 0, 1, 1))
    return col


def test_a_garbled_effective_date_is_filled_in_from_its_expiration():
    col = _dates(policies__general_liability__expiration_date="2026-09-11")
    col.garbled["policies.general_liability.effective_date"] = [
        _w("M:11", 1471, 1434), _w("25", 1554, 1433)]
    fill_dates(col)
    f = col.fields["policies.general_liability.effective_date"]
    assert f.value == "2025-09-11"
    assert f.confidence == FILLED_CONFIDENCE and "filled in" in f.notes[0]
    assert f.bbox == (1471, 1433, 1582, 1452)
    assign_status(col.fields)
    assert f.status == "needs_review"


def test_a_date_is_filled_in_from_the_other_policies_and_only_when_it_fits():
    col = _dates(policies__general_liability__effective_date="2025-09-11",
                 policies__general_liability__expiration_date="2026-09-11")
    col.garbled["policies.workers_compensation.expiration_date"] = [_w("011", 1660, 2238),
                                                                    _w("26", 1745, 2238)]
    # Nothing of 03/01/25 left in what was read: no guess.
    col.garbled["policies.workers_compensation.effective_date"] = [_w("(L228", 1470, 2238)]
    fill_dates(col)
    assert col.fields["policies.workers_compensation.expiration_date"].value == "2026-09-11"
    assert "policies.workers_compensation.effective_date" not in col.fields


def test_two_candidates_that_fit_alike_fill_nothing():
    col = _dates(policies__general_liability__effective_date="2025-09-11",
                 policies__automobile_liability__effective_date="2025-09-17")
    col.garbled["policies.umbrella_liability.effective_date"] = [_w("09:1", 1470, 2083),
                                                                 _w("25", 1552, 2083)]
    fill_dates(col)
    assert "policies.umbrella_liability.effective_date" not in col.fields


def test_a_date_read_is_never_replaced():
    col = _dates(policies__general_liability__effective_date="2025-09-11",
                 policies__general_liability__expiration_date="2026-09-11")
    col.garbled["policies.general_liability.effective_date"] = [_w("O9/11/24", 1470, 1434)]
    fill_dates(col)
    assert col.fields["policies.general_liability.effective_date"].value == "2025-09-11"


def test_an_address_whose_first_letter_ocr_made_marks_of_goes_to_review():
    # "certs@keystonerisk.com" read "©!" "erts" "@keystonerisk.com": the marks touching
    # "erts" were left out, and "erts@..." accepted at 0.91 (a scan of seed 7474).
    def email(x: int) -> dict:
        right = [Word(t, b, c, 1) for t, b, c in (
            ("E-MAIL", (1316, 688, 1400, 707), 0.96), ("ADDRESS:", (1315, 715, 1443, 733), 0.9),
            ("©!", (x, 702, x + 18, 725), 0.24), ("erts", (1481, 693, 1582, 726), 0.96),
            ("@keystonerisk.com", (1589, 695, 1892, 732), 0.96))]
        layout = build_layout(_top(right, [Rule(1195, 590, 1195, 1100)]))
        col = Collector(page=1)
        read_header(layout, find_skeleton(layout), col)
        return col.fields["producer.email"]
    f = email(1461)
    assert f.value == "erts@keystonerisk.com" and f.confidence < 0.6
    assert f.notes == ["printing touching its start was not read"]
    assert email(1445).confidence == 0.96  # a speck a space away touches nothing


def test_a_typed_word_the_labels_box_reaches_over_is_the_names():
    # "INSURERA:" boxed across "The" of "The Travelers Indemnity Company": the name was
    # accepted without its first word (seed 8484).
    page = _insurers(["INSURERA:", "INSURER B", "INSURER C", "", "", ""])
    label = next(w for w in page.words if w.text == "INSURERA:")
    page.words[page.words.index(label)] = Word(label.text, (label.x0, label.y0, 1450,
                                                            label.y1), label.conf, 1)
    got = _read_top(page)
    assert got["insurers.A.name"] == "ERIE INSURANCE EXCHANGE"
    assert got["insurers.B.name"] == "OWNERS INSURANCE COMPANY"
    # A box OCR stretched over three rows ("No." of "(A/C, No, Ext):", 51 pixels high) in the
    # E-MAIL label's second half is no value (upside-down scan, seed 3102).
    right = [Word(t, (b[0], b[1] + 208, b[2], b[3] + 208), 0.9, 1) for t, b in (
        ("PHONE", (1172, 442, 1247, 459)), ("No.", (1230, 449, 1261, 500)),
        ("(216)", (1333, 451, 1424, 477)), ("574-2043", (1454, 451, 1616, 474)),
        ("E-MAIL", (1172, 492, 1244, 509)), ("ADDRESS:", (1171, 516, 1281, 531)))]
    got = _read_top(_top(right, [Rule(1160, 590, 1160, 1100)]))
    assert got["producer.phone"] == "(216) 574-2043" and "producer.email" not in got
