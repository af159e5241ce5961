"""The top of the form where a fax garbled its box titles: found by their place."""

from extractors.fields import Collector
from extractors.header import read_header
from extractors.layout import build_layout
from extractors.skeleton import find_skeleton
from pipeline.types import PageContent, Rule, Word


def _w(text: str, x: int, y: int, h: int = 18, char: int = 14) -> Word:
    return Word(text, (x, y, x + char * len(text), y + h), 0.95, 1)


def _top(title: list[Word], contact: list[Word]) -> PageContent:
    """Disclaimer (with a "CONTRACT" in it), the producer box with ``title`` at its top left,
    the contact column with ``contact`` on its first row, then PHONE, INSURED, COVERAGES."""
    words = [
        _w("DOES", 1400, 560), _w("NOT", 1480, 560), _w("CONSTITUTE", 1540, 560),
        _w("A", 1700, 560), _w("CONTRACT", 1749, 575), _w("BETWEEN", 1880, 575),
        _w("THE", 2000, 575), _w("ISSUING", 2060, 575),
        *title, *contact,
        _w("HARBOR", 197, 740, h=28, char=22), _w("POINT", 359, 740, h=28, char=22),
        _w("AGENCY", 481, 740, h=28, char=22),
        _w("9676", 197, 790, h=28, char=22), _w("MAPLE", 300, 790, h=28, char=22),
        _w("STREET", 430, 790, h=28, char=22),
        _w("PHONE", 1177, 773), _w("(216)", 1423, 767, h=28, char=18),
        _w("307-6165", 1516, 767, h=28, char=18),
        _w("INSURED", 165, 987), _w("FOX", 197, 1020, h=28, char=22),
        _w("RUN", 280, 1020, h=28, char=22), _w("LLC", 370, 1020, h=28, char=22),
        _w("COVERAGES", 165, 1285),
    ]
    rules = [Rule(150, 700, 2300, 700), Rule(150, 970, 1170, 970), Rule(1170, 700, 1170, 1250)]
    return PageContent(number=1, width=2550, height=3300, words=words, source="ocr", rules=rules)


def _read(page: PageContent) -> dict:
    layout = build_layout(page)
    col = Collector(page=1)
    read_header(layout, find_skeleton(layout), col)
    return {p: f.value for p, f in col.fields.items()}


def test_a_garbled_producer_title_found_by_its_place():
    # "PRODUCER" read "ROM CTR" (its P lost), "CONTACT NAME" garbled: the title is the short
    # line at the box's top left, a line or two above PHONE; "CONTRACT" in the disclaimer
    # above is no contact label.
    got = _read(_top([_w("ROM", 180, 700), _w("CTR", 236, 700)],
                     [_w("CONTACENAN", 1176, 717)]))
    assert got["producer.name"] == "HARBOR POINT AGENCY"
    assert got["producer.address"] == "9676 MAPLE STREET"
    assert "BETWEEN" not in str(got.get("producer.contact"))


def test_a_title_garbled_into_a_name_like_word_is_still_the_title():
    # "PRODUCER" read "PROCTER" on a fax softened more.
    got = _read(_top([_w("PROCTER", 165, 711)], [_w("CONTACT", 1176, 717),
                                                 _w("NAME", 1290, 717)]))
    assert got["producer.name"] == "HARBOR POINT AGENCY"
