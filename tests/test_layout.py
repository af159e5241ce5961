import pytest

from extractors import patterns
from extractors.layout import build_layout, group_rows, levenshtein
from pipeline.types import PageContent, Word


def _words(rows):
    """rows: list of (y, [(x, text), ...]) with 30 px tall words, 18 px per char."""
    out = []
    for y, items in rows:
        for x, text in items:
            out.append(Word(text, (x, y, x + 18 * len(text), y + 30), 0.95, 1))
    return out


def _page(words):
    return PageContent(number=1, width=2550, height=3300, words=words, source="ocr")


def test_rows_group_words_on_one_baseline():
    ws = _words([(100, [(50, "EACH"), (150, "OCCURRENCE")]), (160, [(50, "MED"), (130, "EXP")])])
    rows = group_rows(ws)
    assert [[w.text for w in r] for r in rows] == [["EACH", "OCCURRENCE"], ["MED", "EXP"]]


def test_labels_tolerate_ocr_misreads_but_not_other_words():
    ws = _words([
        (100, [(50, "EACH"), (150, "OCCURENCE")]),  # one letter lost
        (200, [(50, "INSURER"), (200, "A"), (230, ":"), (400, "Travelers")]),
        (300, [(50, "INSURED")]),
        (400, [(50, "GENERAL"), (200, "AGGREGATE")]),
    ])
    lay = build_layout(_page(ws))
    assert [h.words[1].text for h in lay.all("L_EACH_OCCURRENCE")] == ["OCCURENCE"]
    assert lay.first("L_EACH_OCCURRENCE").edits == 1
    # "INSURER" is one edit from "INSURED": the exact INSURER A label wins its words.
    assert [h.words[0].text for h in lay.all("INSURED")] == ["INSURED"]
    assert lay.first("INSURER_A") is not None
    # "AGGREGATE" inside "GENERAL AGGREGATE" is not the umbrella's AGGREGATE label.
    assert lay.all("L_AGGREGATE") == []
    assert lay.first("L_GENERAL_AGGREGATE") is not None


def test_labels_do_not_span_a_wide_gap():
    ws = _words([(100, [(50, "EACH"), (900, "OCCURRENCE")])])
    assert build_layout(_page(ws)).all("L_EACH_OCCURRENCE") == []


def test_levenshtein():
    assert levenshtein("insurer", "insured") == 1
    assert levenshtein("", "abc") == 3


def test_pattern_files_are_validated():
    with pytest.raises(patterns.PatternFileError, match="UPPER_SNAKE_CASE"):
        patterns._validate_labels({"labels": [{"id": "lower_case", "phrases": ["x"]}]})
    with pytest.raises(patterns.PatternFileError, match="duplicate id"):
        patterns._validate_labels({"labels": [{"id": "A", "phrases": ["x"]},
                                              {"id": "A", "phrases": ["y"]}]})
    with pytest.raises(patterns.PatternFileError, match="bad regex"):
        patterns._validate_values({"values": {"MONEY": {"regex": "(unclosed"}}})
    assert "TITLE" in patterns.load().label_ids


def test_a_word_boxed_a_little_low_stays_on_its_row():
    # Boxes as tesseract gave them on a scan: "GENERAL" 1 px lower than "LIABILITY".
    def w(text, box):
        return Word(text, box, 0.95, 1)

    ws = [w("COMMERCIAL", (333, 1283, 472, 1298)), w("65", (963, 1291, 995, 1312)),
          w("A", (218, 1294, 237, 1313)), w("LIABILITY", (438, 1304, 535, 1319)),
          w("GENERAL", (333, 1304, 431, 1320))]
    rows = [[x.text for x in r] for r in group_rows(ws)]
    assert ["A", "GENERAL", "LIABILITY", "65"] in rows


def test_a_limit_label_wrapped_over_two_lines_with_its_e_l_misread():
    ws = _words([
        (100, [(50, "ELL."), (140, "DISEASE")]),
        (140, [(50, "POLICY"), (180, "LIMIT"), (400, "$"), (450, "500,000")]),
    ])
    hits = build_layout(_page(ws)).all("L_EL_DISEASE_POLICY")
    assert [[w.text for w in h.words] for h in hits] == [["ELL.", "DISEASE", "POLICY", "LIMIT"]]


def test_label_words_ocr_ran_together_are_still_the_label():
    ws = _words([
        (100, [(50, "E.L."), (140, "DISEASE-EAEMPLOYEE"), (600, "$100,000")]),
        (200, [(50, "COMMERCIALGENERAL"), (400, "LIABILITY")]),
        (300, [(50, "SANDERSON"), (300, "EXCAVATING")]),  # a name is no label
        (400, [(50, "E.L."), (140, "DISEASE"), (300, "EAEMPLOYEE")]),  # near "EMPLOYEE"
    ])
    lay = build_layout(_page(ws))
    hit = lay.first("L_EL_DISEASE_EMPLOYEE")
    assert hit is not None and [w.text for w in hit.words] == ["E.L.", "DISEASE-EAEMPLOYEE"]
    assert lay.first("GL") is not None
    assert patterns.load().vocabulary.pieces("sanderson") is None
    assert [h.y0 for h in lay.all("L_EL_DISEASE_EMPLOYEE")] == [100, 400]


def test_a_check_mark_glued_to_its_label_is_split_off():
    ws = _words([(100, [(50, "[XJEXCESS"), (250, "LIAB")]),
                 (200, [(50, "LIABILITY")]), (300, [(50, "XEROX"), (200, "CORP")])])
    lay = build_layout(_page(ws))
    hit = lay.first("EXCESS")
    assert hit is not None and hit.words[0].text == "EXCESS"
    assert hit.x0 == 50 + round(9 * 18 * 3 / 9)  # the label starts after the mark
    assert [w.text for w in lay.page.words if w.y0 == 100][:2] == ["[XJ", "EXCESS"]
    assert "LIABILITY" in [w.text for w in lay.page.words]  # a label word stays whole
    assert "XEROX" in [w.text for w in lay.page.words]  # so does a word that is no label


def test_a_rule_read_as_a_bar_inside_a_word_splits_it():
    ws = _words([(100, [(50, "342|FAX"), (250, "(A/C,"), (360, "No):")]),
                 (200, [(50, "|Harbor"), (250, "A|")])])  # bars at an edge are debris
    lay = build_layout(_page(ws))
    assert [w.text for w in lay.page.words if w.y0 == 100][:2] == ["342", "FAX"]
    assert lay.first("FAX") is not None
    assert [w.text for w in lay.page.words if w.y0 == 200] == ["|Harbor", "A|"]


def test_the_end_of_a_hyphenated_word_starts_no_label():
    # "NON-OWNED AUTOS ONLY" with "NON" lost: not the OWNED AUTOS ONLY option.
    ws = _words([(100, [(50, "-OWNED"), (200, "AUTOS"), (320, "ONLY")]),
                 (200, [(50, "OWNED"), (200, "AUTOS"), (320, "ONLY")]),
                 (300, [(50, "IN-OWNED"), (250, "AUTOS"), (370, "ONLY")])])
    lay = build_layout(_page(ws))
    assert [h.y0 for h in lay.all("OWNED_AUTOS")] == [200]


def test_a_short_first_word_does_not_split_its_row():
    # Real boxes from a rotated scan: the row's first word is shorter than the rest, and
    # "EA" joined it while "E.L." (a pixel lower) started a row of its own.
    ws = [Word(t, b, 0.95, 1) for t, b in [
        ("OFFICER/MEMBER", (335, 2134, 513, 2150)), ("(Mandatory", (611, 2130, 713, 2162)),
        ("E.L.", (1685, 2142, 1723, 2159)), ("DISEASE", (1734, 2141, 1833, 2160)),
        ("EA", (1858, 2141, 1887, 2159)), ("EMPLOYEE", (1896, 2141, 2024, 2159)),
        ("500,000", (2262, 2141, 2397, 2166))]]
    rows = group_rows(ws)
    assert [w.text for w in rows[0]] == [w.text for w in ws]
    assert build_layout(_page(ws)).first("L_EL_DISEASE_EMPLOYEE") is not None


def test_a_two_line_label_stays_two_rows_beside_a_value_between_its_lines():
    # Real boxes of a digital certificate: CLAIMS-MADE and the amount sit level with the
    # gap between "DAMAGE TO RENTED" and "PREMISES (Ea occurrence)".
    ws = [Word(t, b, 1.0, 1) for t, b in [
        ("DAMAGE", (1696, 1274, 1811, 1304)), ("TO", (1818, 1274, 1853, 1304)),
        ("RENTED", (1861, 1274, 1966, 1304)), ("CLAIMS-MADE", (379, 1288, 557, 1318)),
        ("X", (572, 1286, 590, 1319)), ("OCCUR", (599, 1287, 694, 1318)),
        ("$", (2122, 1287, 2137, 1318)), ("$100,000", (2150, 1284, 2280, 1318)),
        ("PREMISES", (1696, 1301, 1829, 1331)), ("(Ea", (1836, 1301, 1876, 1331)),
        ("occurrence)", (1884, 1301, 2031, 1331))]]
    rows = [[w.text for w in r] for r in group_rows(ws)]
    assert ["PREMISES", "(Ea", "occurrence)"] in rows
    assert build_layout(_page(ws)).first("L_DAMAGE_RENTED") is not None


def test_title_and_form_footer_make_a_bad_fax_a_certificate():
    from extractors.classify import classify
    rows = [(300, [(600, "CERTIFICATE"), (800, "OF"), (860, "LIABILITY"), (1050, "INSURANCE")]),
            (1100, [(100, "COVERAGES")]), (2600, [(1200, "CANCELLATION")]),
            (2900, [(100, "ACORD"), (220, "25"), (280, "(2016/03)")])]
    assert classify(build_layout(_page(_words(rows)))) == "acord25"
    # The title alone, quoted on some other page, is not enough.
    assert classify(build_layout(_page(_words(rows[:1] + rows[3:])))) == "other"


def test_a_label_word_ocr_split_in_two_is_matched_whole():
    # "CANCELLATION" read "CANC ELLATION": the holder's box lost its right edge.
    words = [Word("CANC", (1305, 2738, 1390, 2760), 0.74, 1),
             Word("ELLATION", (1396, 2738, 1530, 2760), 0.92, 1),
             Word("SHOULD", (1305, 2790, 1420, 2812), 0.96, 1)]
    layout = build_layout(PageContent(number=1, width=2550, height=3300, words=words,
                                      source="ocr"))
    [hit] = layout.all("CANCELLATION")
    assert [w.text for w in hit.words] == ["CANC", "ELLATION"]
    # Two words that are label words each are not run together ("ANY" "AUTO").
    words = [Word("ANY", (100, 100, 160, 120), 0.9, 1), Word("AUTO", (168, 100, 250, 120), 0.9, 1)]
    layout = build_layout(PageContent(number=1, width=2550, height=3300, words=words,
                                      source="ocr"))
    assert [w.text for w in layout.all("ANY_AUTO")[0].words] == ["ANY", "AUTO"]
