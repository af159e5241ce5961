"""Letters and digits told apart by their glyphs' widths (extractors/glyphs.py): blobs of
ink stand for glyphs, so each test says which widths decide what."""

import numpy as np
import pytest

from extractors.glyphs import (
    MENDED_CONF,
    WIDE_DIGIT_CONF,
    glyph_widths,
    held,
    mend_number,
    mend_word,
    respace,
)
from pipeline.types import PageContent, Word


def _word(text: str, widths: list[int], gap: int = 4, height: int = 30):
    """A word image of one black blob per glyph, ``widths`` wide, and its Word."""
    x, spans = 10, []
    for w in widths:
        spans.append((x, x + w))
        x += w + gap
    img = np.full((height + 20, x + 10), 255, np.uint8)
    for a, b in spans:
        img[10:10 + height, a:b] = 0
    return img, Word(text, (0, 0, img.shape[1], img.shape[0]), 0.8, 1)


def test_widths_are_cut_where_no_ink_crosses_and_specks_are_left_out():
    img, word = _word("B4", [20, 16])
    img[5, 2] = 0  # a speck in the margin
    assert glyph_widths(img, word) == [20, 16]


@pytest.mark.parametrize(("read", "widths", "printed"), [
    ("BAOV4", [20, 22, 16, 20, 16], "BA0V4"),  # the O as wide as the 4: a zero
    ("CBL4", [22, 16, 20, 16], "C8L4"),        # the B as wide as the 4: an eight
    ("TOL6", [20, 16, 20, 16], "T0L6"),        # the O as wide as the 6: a zero
    ("CA4R5", [22, 22, 16, 20, 16], "CA4R5"),  # a 4 as wide as the 5: left so
    ("BAGV4", [20, 22, 22, 20, 16], "BAGV4"),  # a G a third wider than the 4: a G
    ("BA0V4", [20, 22, 16, 20, 16], "BA0V4"),  # read right: left so
])
def test_a_look_alike_is_the_one_its_width_says(read, widths, printed):
    img, word = _word(read, widths)
    assert mend_word(img, word, others=[16, 16]).text == printed


def test_a_round_letter_read_for_a_zero_a_little_wider_than_the_digits_is_a_zero():
    # A rotated scan's "CGLON3 2026": its O 15 pixels wide beside digits of 14 and 15 (1.07;
    # round capitals measure 1.24 or more).  A B so wide is not decided an 8.
    img, word = _word("CGLON3", [19, 20, 15, 15, 18, 14])
    assert mend_word(img, word, others=[14, 15, 14, 15]).text == "CGL0N3"
    img, word = _word("CBL4", [22, 16, 20, 15])  # 1.07: an 8 only up to 1.05
    assert mend_word(img, word, others=[15, 15, 15, 14]).text == "CBL4"


def test_one_glyph_read_as_two_characters_is_the_one_its_width_says():
    img, word = _word("BA7X0O", [20, 22, 16, 20, 16])  # five glyphs, six characters
    assert mend_word(img, word, others=[16, 16]).text == "BA7X0"
    img, word = _word("B87", [16, 16])
    assert mend_word(img, word, others=[16, 16, 16]).text == "87"


@pytest.mark.parametrize(("read", "widths", "others"), [
    ("BAOV4", [20, 22, 16, 20, 16], []),           # one digit alone is no reference
    ("T0L6", [20, 22, 20, 16], [16, 16]),          # a wide 0 is an O, a D or a Q: which?
    ("BAOV4", [20, 22, 18, 20, 16], [16, 16]),     # 1.13: neither a digit nor a letter
    ("BAOV4", [20, 22, 16, 36, 16], [16, 16]),     # two glyphs touching somewhere
    ("BAOV4", [20, 22, 16, 20], [16, 16]),         # cut and text do not match
    ("BAOV4", [20, 22, 16, 20, 16], [16, 26]),     # digits of no one width
])
def test_nothing_is_decided_where_the_glyphs_do_not_say(read, widths, others):
    img, word = _word(read, widths)
    assert mend_word(img, word, others=others).text == read


def test_a_numbers_other_words_lend_their_digits_and_a_text_layer_is_left_alone():
    a_img, a = _word("BAOV4", [20, 22, 16, 20, 16])
    img = np.full((a_img.shape[0], a_img.shape[1] + 120), 255, np.uint8)
    img[:, :a_img.shape[1]] = a_img
    year_img, _ = _word("2023", [16, 16, 16, 16])
    img[:, a_img.shape[1]:a_img.shape[1] + year_img.shape[1]] = year_img
    year = Word("2023", (a_img.shape[1], 0, a_img.shape[1] + year_img.shape[1],
                         img.shape[0]), 0.9, 1)
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[a, year],
                       source="ocr", image=img)
    assert [w.text for w in mend_number(page, [a, year])] == ["BA0V4", "2023"]
    page.source = "text"
    assert [w.text for w in mend_number(page, [a, year])] == ["BAOV4", "2023"]


def _line(texts: list[str], layout: list[list[tuple[int, int]]], dash: tuple[int, int] = None):
    """A line image: per word its glyphs' (x, width), as blobs 30 high; ``dash`` a bar at
    mid-height (x, width) that no word holds; and the words."""
    img = np.full((50, 600), 255, np.uint8)
    words = []
    for text, glyphs in zip(texts, layout, strict=True):
        for x, w in glyphs:
            img[10:40, x:x + w] = 0
        x0, x1 = glyphs[0][0], glyphs[-1][0] + glyphs[-1][1]
        words.append(Word(text, (x0, 10, x1, 40), 0.8, 1))
    if dash:
        img[23:27, dash[0]:dash[0] + dash[1]] = 0
    return img, words


def _run(x: int, widths: list[int], pitch: int = 20) -> list[tuple[int, int]]:
    """Glyphs of tabular digits: centers ``pitch`` apart, each ``widths`` wide."""
    return [(x + i * pitch + (pitch - w) // 2, w) for i, w in enumerate(widths)]


def test_a_space_is_where_the_glyphs_sit_a_space_apart():
    # "CGL1787813" read as one word, its L and 1 a space apart: two words.  Its 1s are
    # narrow, so the gaps beside them are wide, but their centers sit a digit apart.
    glyphs = _run(10, [16, 16, 16]) + _run(80, [6, 16, 16, 16, 16, 6, 16])
    img, [word] = _line(["CGL1787813"], [glyphs])
    assert [w.text for w in respace(img, [word])] == ["CGL", "1787813"]


def test_words_ocr_split_a_digit_apart_are_one_and_a_lost_hyphen_joins_two():
    img, words = _line(["QT", "153407459"], [_run(10, [16, 16]), _run(50, [6] + [16] * 8)])
    assert [w.text for w in respace(img, words)] == ["QT153407459"]
    img, words = _line(["GLP", "49", "0995008-44"],
                       [_run(10, [16] * 3), _run(90, [16] * 2), _run(150, [16] * 7)],
                       dash=(134, 10))
    assert [w.text for w in respace(img, words)] == ["GLP", "49-0995008-44"]


def test_a_digit_as_wide_as_a_letter_keeps_its_number_from_being_accepted():
    # "3451Z213353" read "34512213353": all digits, so no look-alike rule held it, and a
    # second read agreed (seed 7474).  Its Z is a letter's width.
    widths = [16, 16, 16, 6, 22, 16, 6, 16, 16, 16, 16]
    img, word = _word("34512213353", widths)
    got = mend_word(img, word)
    assert got.text == "34512213353" and got.conf == WIDE_DIGIT_CONF
    page = PageContent(number=1, width=img.shape[1], height=img.shape[0], words=[word],
                       source="ocr", image=img)
    assert held([word], mend_number(page, [word]))  # said in the number's notes
    # Held under the floor of the choices read, whatever OCR's own confidence was.
    from pipeline.verify import POLICY_READ_FLOOR
    assert WIDE_DIGIT_CONF < POLICY_READ_FLOOR
    img, word = _word("34512213353", [16, 16, 16, 6, 16, 16, 6, 16, 16, 16, 16])
    assert mend_word(img, word).conf == 0.8
    page.image = img
    assert not held([word], mend_number(page, [word]))


def test_a_mended_number_goes_to_review_and_a_missing_piece_elsewhere_mends_nothing():
    img, word = _word("BAOV4", [20, 22, 16, 20, 16])
    sure = Word(word.text, word.bbox, 0.97, 1)
    got = mend_word(img, sure, others=[16, 16])
    assert got.text == "BA0V4" and got.conf == MENDED_CONF  # mended, not read
    # "XG61173" with its two 1s touching: one piece fewer, but not the "G6" pair's.
    img, word = _word("XG61173", [18, 22, 16, 20, 16, 16])
    assert mend_word(img, word, others=[16, 16]).text == "XG61173"
