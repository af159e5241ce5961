"""The top of the form where a fax garbled its box titles: found by their place."""

from forms import insurer_rows

from extractors.fields import Collector
from extractors.header import read_bottom, read_header
from extractors.layout import build_layout
from extractors.skeleton import find_skeleton
from pipeline.types import PageContent, Rule, Word


def _typed(text: str, x: int, y: int) -> Word:
    """A typed value's word: larger than the form's printed labels."""
    return _w(text, x, y, h=28, char=20)


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


def _bottom(words: list[Word], rules: list[Rule] | None = None) -> dict:
    """The description and holder read from a page of these words and rules."""
    page = PageContent(number=1, width=2550, height=3300, words=words, source="ocr",
                       rules=rules or [])
    layout = build_layout(page)
    col = Collector(page=1)
    read_bottom(layout, find_skeleton(layout), col)
    return {p: f.value for p, f in col.fields.items()}


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


def _insurer_rows(labels: list[str]) -> PageContent:
    return insurer_rows(_w, labels)


def test_insurers_whose_labels_are_garbled_are_found_by_their_row():
    # "INSURER B" read "INGURITR HB", C's label lost entirely: counted down from A's row.
    got = _read(_insurer_rows(["INSURER A", "INGURITR HB", ""]))
    assert got["insurers.A.name"] == "ERIE INSURANCE EXCHANGE"
    assert got["insurers.B.name"] == "OWNERS INSURANCE COMPANY"
    assert got["insurers.B.naic"] == "32700"
    assert got["insurers.C.name"] == "TWIN CITY FIRE" and got["insurers.C.naic"] == "29459"


def test_no_insurer_is_found_by_its_row_when_a_read_label_is_out_of_its_row():
    # "INSURER C" read on the second row: these rows are not the form's A to F.
    got = _read(_insurer_rows(["INSURER A", "INSURER C", ""]))
    assert "insurers.B.name" not in got


def test_a_garbled_holder_title_is_the_one_left_of_cancellation():
    # "CERTIFICATE HOLDER" read "CERTIFI ATETOLDER": without the holder's box its name and
    # address were read into the description above it.
    words = [_w("INSURED", 165, 987), _w("COVERAGES", 165, 1285),
             _w("DESCRIPTION", 165, 2427), _w("OF", 330, 2427), _w("OPERATIONS", 370, 2427),
             _typed("Job", 180, 2470), _typed("1234", 260, 2470),
             _w("CERTIFI", 165, 2655), _w("ATETOLDER", 165, 2680),
             _w("CANCELLATION", 1269, 2678),
             _typed("Gateway", 180, 2725), _typed("Plaza", 350, 2725),
             _typed("PO", 180, 2775), _typed("Box", 240, 2775),
             _typed("2607", 320, 2775)]
    got = _bottom(words, [Rule(1260, 2640, 1260, 2950)])
    assert got["description_of_operations"] == "Job 1234"
    assert got["certificate_holder.name"] == "Gateway Plaza"
    assert got["certificate_holder.address"] == "PO Box 2607"


def test_the_holders_box_ends_at_its_rule_when_cancellation_is_unread():
    # "CANCELLATION" unread: the cancellation text right of the box's rule was read into the
    # holder's address ("SHOULD, City of Riverton EXPIRATION, ...").
    words = [_w("INSURED", 123, 987), _w("COVERAGES", 123, 1285),
             _w("CERTIFICATE", 123, 2742), _w("HOLDER", 300, 2742), _w("CANX", 1305, 2738),
             _w("SHOULD", 1305, 2775), _w("ANY", 1420, 2775),
             _typed("City", 140, 2800), _typed("of", 230, 2800),
             _typed("Riverton", 290, 2800), _w("EXPIRATION", 1305, 2800),
             _typed("9081", 140, 2825), _typed("Harbor", 240, 2825),
             _typed("Rd", 380, 2825), _w("NOTICE", 1305, 2825)]
    got = _bottom(words, [Rule(1290, 2720, 1290, 2950)])
    assert got["certificate_holder.name"] == "City of Riverton"
    assert got["certificate_holder.address"] == "9081 Harbor Rd"


def test_a_description_of_only_its_labels_own_words_is_no_description():
    # A fax lost the description's text; the label's wrapped tail is no description.
    words = [_w("INSURED", 123, 987), _w("COVERAGES", 123, 1285),
             _w("DESCRIPTION", 123, 2427), _w("OF", 300, 2427), _w("OPERATIONS", 345, 2427),
             _w("/", 490, 2427), _w("LOCATIONS", 510, 2427),
             _w("OPERATIONS", 600, 2480), _w("CERTIFICATE", 123, 2742),
             _w("HOLDER", 300, 2742), _w("CANCELLATION", 1305, 2738),
             _typed("City", 140, 2800)]
    got = _bottom(words)
    assert "description_of_operations" not in got
    assert got["certificate_holder.name"] == "City"


def _doubted(text: str, x: int, y: int, h: int, conf: float = 0.3) -> Word:
    return Word(text, (x, y, x + 14 * len(text), y + h), conf, 1)


def test_a_pens_scrawl_below_the_description_is_not_part_of_it():
    # Initials under the description were read as a line of doubted, odd-sized "words"
    # after its last sentence ("... repairs. eo mre"; "... liability. ALY j").
    words = [_w("INSURED", 165, 987), _w("COVERAGES", 165, 1285),
             _w("DESCRIPTION", 165, 2427), _w("OF", 330, 2427), _w("OPERATIONS", 370, 2427),
             _typed("Job", 180, 2470), _typed("1234", 260, 2470), _typed("repairs.", 180, 2500),
             _doubted("ALY", 600, 2530, 54), _doubted("j", 700, 2540, 30),
             _doubted("eo", 600, 2596, 7), _doubted("mre", 680, 2600, 9),
             _w("CERTIFICATE", 165, 2655), _w("HOLDER", 330, 2655),
             _w("CANCELLATION", 1269, 2655), _typed("Gateway", 180, 2725)]
    got = _bottom(words, [Rule(1260, 2640, 1260, 2950)])
    assert got["description_of_operations"] == "Job 1234 repairs."


def test_a_doubted_last_line_of_typing_stays_in_the_description():
    # Only a line of doubted words that are not the typing's height is a scrawl: a faint
    # last line of type is the description's, and so is a confident odd-sized one.
    for last in ([_doubted("garage", 180, 2530, 18), _doubted("repairs", 290, 2530, 18)],
                 [_doubted("Suite", 180, 2530, 40, conf=0.9)]):
        words = [_w("INSURED", 165, 987), _w("COVERAGES", 165, 1285),
                 _w("DESCRIPTION", 165, 2427), _w("OF", 330, 2427),
                 _w("OPERATIONS", 370, 2427), _typed("Job", 180, 2470),
                 _typed("1234", 260, 2470), *last,
                 _w("CERTIFICATE", 165, 2655), _w("HOLDER", 330, 2655),
                 _w("CANCELLATION", 1269, 2655), _typed("Gateway", 180, 2725)]
        got = _bottom(words, [Rule(1260, 2640, 1260, 2950)])
        assert got["description_of_operations"].split()[-1] in ("repairs", "Suite")


def test_the_end_of_a_two_line_e_mail_label_is_not_the_addresss_start():
    # "E-MAIL" over "ADDRES." then "s.": OCR split the label's last letter off, and it
    # was read as the address's start ("s.angela@greatlakes.com"; color-5757-000, where
    # these boxes are from).  A piece at the address's own size is the address's.
    from extractors.emails import glued

    def word(text, box, conf=0.9):
        return Word(text, box, conf, 1)

    label = [word("ADDRES.", (1239, 534, 1340, 551)), word("E-MAIL", (1240, 507, 1328, 525))]
    mail = [word("angela", (1386, 514, 1487, 547)), word("@greatlakes.com", (1503, 509, 1778, 556))]
    row = [*label, word("s.", (1343, 534, 1361, 551), 0.36), *mail]
    assert [w.text for w in glued(row, 4, 1239)] == ["angela", "@greatlakes.com"]
    touching = [*label, word("s.", (1339, 534, 1357, 551), 0.36), *mail]  # boxes overlap
    assert [w.text for w in glued(touching, 4, 1239)] == ["angela", "@greatlakes.com"]
    own = [*label, word("a.", (1350, 514, 1380, 547)), *mail]
    assert [w.text for w in glued(own, 4, 1239)] == ["a.", "angela", "@greatlakes.com"]
