"""Word boxes of the printed form shared by the tests that build pages by hand."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.types import PageContent, Rule, Word


def grid_header(w: Callable[..., Word]) -> list[Word]:
    """COVERAGES and the coverage grid's header row (rules at x 100, 200, 730, 830, 910,
    1320, 1520, 1670, 2450; the row between y 1300 and 1380), made with ``w(text, x, y,
    char=...)``."""
    return [
        w("COVERAGES", 110, 1200),
        w("INSR", 112, 1310, char=16), w("LTR", 118, 1345, char=16),
        w("TYPE", 350, 1330), w("OF", 440, 1330), w("INSURANCE", 490, 1330),
        w("ADDL", 745, 1310, char=16), w("INSD", 745, 1345, char=16),
        w("SUBR", 838, 1310, char=15), w("WVD", 842, 1345, char=15),
        w("POLICY", 1050, 1310), w("NUMBER", 1048, 1345),
        w("POLICY", 1335, 1310, char=14), w("EFF", 1435, 1310, char=14),
        w("POLICY", 1525, 1310, char=12), w("EXP", 1605, 1310, char=12),
        w("LIMITS", 1929, 1330, char=12),
    ]


def insurer_rows(w: Callable[..., Word], labels: list[str]) -> PageContent:
    """The insurer block: six ruled rows under INSURER(S) AFFORDING COVERAGE, each with its
    label as ``labels`` gives it ("" for none read), the first three with an insurer's
    name and NAIC, made with ``w(text, x, y, h=..., char=...)``."""
    names = [("ERIE", "INSURANCE", "EXCHANGE", "26271"),
             ("OWNERS", "INSURANCE", "COMPANY", "32700"), ("TWIN", "CITY", "FIRE", "29459")]
    words = [w("PRODUCER", 165, 711), w("CONTACT", 1176, 717), w("NAME", 1290, 717),
             w("PHONE", 1177, 773), w("INSURED", 165, 987),
             w("INSURER(S)", 1450, 884), w("AFFORDING", 1600, 884), w("COVERAGE", 1750, 884),
             w("NAIC", 2230, 884), w("COVERAGES", 165, 1285)]
    rules = [Rule(1170, 870, 2300, 870)]
    for i in range(6):
        y = 920 + 45 * i
        rules.append(Rule(1170, y, 2300, y))
        if i < len(labels) and labels[i]:
            words += [w(t, 1177 + 110 * k, y + 12) for k, t in enumerate(labels[i].split())]
        if i < len(names):
            *name, naic = names[i]
            words += [w(t, 1420 + 170 * k, y + 10, h=24, char=16) for k, t in enumerate(name)]
            words.append(w(naic, 2230, y + 10, h=24, char=16))
    rules += [Rule(1170, 1190, 2300, 1190), Rule(2200, 870, 2200, 1190),
              Rule(1170, 700, 1170, 1250)]
    return PageContent(number=1, width=2550, height=3300, words=words, source="ocr", rules=rules)
