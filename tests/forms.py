"""Word boxes of the printed form shared by the tests that build pages by hand."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.types import Word


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
