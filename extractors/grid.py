"""The coverage grid's geometry: columns from the printed header row and the ruled lines,
sections (lines of business) from the labels printed inside each ruled band."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from extractors.fields import union_bbox
from extractors.gridrules import (
    HEADERS,
    columns_by_rules,
    headers_agree,
    kinds_by_form_order,
    limit_rows,
    long_rule_ys,
    section_columns,
    vrule_xs,
)
from extractors.layout import LabelHit, PageLayout, group_rows, levenshtein, split_segments
from extractors.patterns import norm
from extractors.skeleton import Skeleton
from pipeline.types import BBox, Word


@dataclass
class Grid:
    cols: dict[str, tuple[float, float]]
    top: float  # below the header row
    bottom: float  # the description box


@dataclass
class Section:
    kind: str  # gl | auto | umbrella | wc | other
    y0: float
    y1: float
    anchor: LabelHit | None


def hits_between(layout: PageLayout, lid: str, y0: float, y1: float) -> list[LabelHit]:
    return [h for h in layout.all(lid) if y0 <= h.cy <= y1]


# Header words naming each column; a column's header may be printed on one line or two
# ("POLICY" over "NUMBER"), so they are matched on the column's whole text.
HEADER_WORDS = (
    ("H_ADDL", ("addl",)),
    ("H_SUBR", ("subr", "wvd")),
    ("H_INSR", ("insr", "ltr")),
    ("H_TYPE", ("type", "insurance")),
    ("H_POLNUM", ("number",)),
    ("H_EFF", ("eff",)),
    ("H_EXP", ("exp",)),
    ("H_LIMITS", ("limits",)),
)


def _header_kind(words: list[Word]) -> str | None:
    norms = [norm(w.text) for w in words]
    joined = "".join(norms)
    for lid, keys in HEADER_WORDS:
        for k in keys:
            # Three letters may differ by one ("EFP"): the keys are two edits apart.
            tol = 2 if len(k) >= 6 else 1
            if any(n[: len(k) + 1] and levenshtein(n[: len(k)], k) <= tol and
                   abs(len(n) - len(k)) <= 2 for n in norms if n):
                return lid
            # OCR may split a word ("NU BER"): look in the column's text run together.
            if len(k) >= 5 and fuzz.partial_ratio(k, joined) >= 85:
                return lid
    return None


def _header_band(layout: PageLayout, gl: LabelHit) -> tuple[float, float] | None:
    """(top, bottom) of the header row: between the two long rules above the GL section."""
    long_rules = [y for y in long_rule_ys(layout) if y < gl.y0]
    if not long_rules:
        return None
    bottom = long_rules[-1]
    if gl.y0 - bottom > 3 * gl.height:
        return None
    above = [y for y in long_rules if y < bottom - 1.2 * gl.height]
    if not above:
        return None
    return above[-1], bottom


def _plausible(heads: dict[str, BBox]) -> bool:
    """A header row: POLICY NUMBER and LIMITS among three columns or more, left to right in
    the form's order."""
    if "H_POLNUM" not in heads or "H_LIMITS" not in heads or len(heads) < 3:
        return False
    order = sorted(heads, key=lambda k: heads[k][0])
    return order == [k for k in HEADERS if k in heads]


def _header_by_votes(layout: PageLayout, top: float, bottom: float
                     ) -> tuple[tuple[float, float] | None, dict[str, BBox]]:
    long_rules = [y for y in long_rule_ys(layout) if top < y < bottom]
    best: tuple[int, tuple[float, float] | None, dict[str, BBox]] = (0, None, {})
    h = layout.char_height
    for a, b in zip(long_rules, long_rules[1:], strict=False):
        if not 1.5 * h < b - a < 8 * h:
            continue
        heads = _header_groups(layout, a, b)
        if _plausible(heads) and len(heads) >= 4 and len(heads) > best[0]:
            best = (len(heads), (a, b), heads)
    return best[1], best[2]


def _header_groups(layout: PageLayout, top: float, bottom: float) -> dict[str, BBox]:
    """Header words grouped into columns (words overlapping horizontally), classified."""
    # A word across a column rule is OCR's merge of two headers ("(MM/DD/YYYY)" twice):
    # it would join their columns into one.
    rules = [r.x0 for r in layout.vrules if r.y0 <= top + 5 and r.y1 >= bottom - 5]
    words = [w for w in layout.page.words if top < w.cy < bottom
             and not any(w.x0 + 3 < x < w.x1 - 3 for x in rules)]
    segs = [s for row in group_rows(words) for s in split_segments(row, layout.vrules)]
    groups: list[list[Word]] = []
    for seg in sorted(segs, key=lambda s: s[0].x0):
        x0, x1 = seg[0].x0, seg[-1].x1
        for g in groups:
            gx0, gx1 = min(w.x0 for w in g), max(w.x1 for w in g)
            if min(x1, gx1) - max(x0, gx0) > 0:
                g.extend(seg)
                break
        else:
            groups.append(list(seg))
    heads: dict[str, BBox] = {}
    unread: list[BBox] = []
    for g in groups:
        kind = _header_kind(sorted(g, key=lambda w: (w.y0, w.x0)))
        if kind and kind not in heads:
            heads[kind] = union_bbox(g)
        else:  # a second "INSR" is a garbled other header ("INSD" under "Abb")
            unread.append(union_bbox(g))
    _infer_unread(heads, unread)
    # A header OCR lost entirely is the gap between its neighbours.
    if "H_POLNUM" not in heads and "H_SUBR" in heads and "H_EFF" in heads:
        a, b = heads["H_SUBR"], heads["H_EFF"]
        heads["H_POLNUM"] = (a[2] + 10, a[1], b[0] - 10, a[3])
    return heads


def _infer_unread(heads: dict[str, BBox], unread: list[BBox]) -> None:
    """Headers OCR garbled ("POLICY £ P" for "POLICY EFF", "PIMs" for "LIMITS"): a run of
    unread groups between two read headers (or after the last) that is as long as the run
    of columns missing there in the form's order is those columns, in order."""
    read = sorted(heads.items(), key=lambda kv: kv[1][0])
    for n, (lk, lb) in enumerate(read):
        rk, rb = read[n + 1] if n + 1 < len(read) else (None, None)
        between = sorted((b for b in unread if b[0] >= lb[2] and (rb is None or b[2] <= rb[0])),
                         key=lambda b: b[0])
        i = HEADERS.index(lk)
        j = HEADERS.index(rk) if rk else len(HEADERS)
        missing = [h for h in HEADERS[i + 1:j] if h not in heads]
        if between and len(between) == len(missing) == j - i - 1:
            heads.update(zip(missing, between, strict=True))


def find_grid(layout: PageLayout, sk: Skeleton) -> Grid | None:
    page = layout.page
    top_y = sk.coverages.y1 if sk.coverages else sk.top_end
    bottom = sk.description.y0 if sk.description else page.height
    # The first line-of-business label below the coverages bar opens the grid.  Any hit
    # will do here (OCR may glue a check mark to it); prose is above or below the grid.
    anchors = [h for lid in ("GL", "AUTO", "UMBRELLA", "EXCESS", "WC")
               for h in hits_between(layout, lid, top_y, bottom)]
    gl = min(anchors, key=lambda h: h.y0) if anchors else None
    heads: dict[str, BBox] = {}
    band = _header_band(layout, gl) if gl else None
    if band is not None:
        heads = _header_groups(layout, *band)
    if not _plausible(heads):
        # The first section's label unread (a scan lost "COMMERCIAL GENERAL LIABILITY", so
        # AUTOMOBILE opens the grid, and the band above it is GL's last row with its "MED
        # EXP" and "LIMIT"): the header row is the ruled band below the coverages bar whose
        # words name the most columns.
        band, heads = _header_by_votes(layout, top_y, bottom)
    if gl and not _plausible(heads):
        # No ruled header row: fall back to the header labels themselves.
        band, heads = None, {}
        for lid in HEADERS:
            cands = hits_between(layout, lid, top_y, gl.y0)
            if cands:
                heads[lid] = max(cands, key=lambda h: h.y0).bbox
    if not _plausible(heads):
        return _grid_by_rules(layout, top_y, bottom)
    header_bottom = band[1] if band else max(b[3] for b in heads.values())
    if band is not None:
        # The ruled cells of the header row, named by the form's column order, when the
        # headers OCR read agree with that order (a fax garbles some of them).
        ruled = columns_by_rules(vrule_xs(layout, band[0] + 3, band[1] - 3), heads)
        if ruled is None:
            # The header row's own rules broken (a fax): those of the first section below.
            below = [y for y in long_rule_ys(layout)
                     if header_bottom + 3 * layout.char_height < y]
            if below:
                ruled = section_columns(vrule_xs(layout, header_bottom + 5, min(below) - 5))
                if ruled is not None and not headers_agree(ruled, heads):
                    ruled = None
        if ruled is not None:
            return Grid(cols=ruled, top=header_bottom,
                        bottom=_rules_end(layout, ruled, header_bottom, bottom))
    h = layout.char_height
    if gl and header_bottom < gl.y0 < header_bottom + 4 * h:
        xs = vrule_xs(layout, header_bottom + 5, gl.y1)
    else:  # the first row, whatever its label; a fax's rules may start a little below
        xs = vrule_xs(layout, header_bottom + h, header_bottom + 3 * h)
    cols: dict[str, tuple[float, float]] = {}
    order = [lid for lid in HEADERS if lid in heads]
    for i, lid in enumerate(order):
        hx0, _, hx1, _ = heads[lid]
        # A column's rules lie between its neighbours' headers: with the rule between two
        # columns lost (a fax), the next rule over would make one column two columns wide.
        lo = heads[order[i - 1]][2] if i else -1.0
        hi = heads[order[i + 1]][0] if i + 1 < len(order) else 1e9
        left_r = [x for x in xs if lo <= x <= hx0 + 0.3 * (hx1 - hx0)]
        right_r = [x for x in xs if hx1 - 0.3 * (hx1 - hx0) <= x <= hi]
        if lid == "H_LIMITS" and i and order[i - 1] == "H_EXP":
            # LIMITS is centred over the limit labels and their amounts: the rule between
            # them may lie left of the header's middle, but the column starts where EXP ends.
            x0 = cols["H_EXP"][1]
        elif left_r:
            x0 = left_r[-1]
        elif i:
            x0 = (heads[order[i - 1]][2] + hx0) / 2
        else:
            x0 = 0
        if lid == "H_LIMITS":
            # LIMITS heads both the limit labels and their "$ amount" cells: it runs to the
            # grid's right edge.
            x1 = xs[-1] if xs and xs[-1] > hx1 else page.width
        elif right_r:
            x1 = right_r[0]
        elif i + 1 < len(order):
            x1 = (hx1 + heads[order[i + 1]][0]) / 2
        else:
            x1 = page.width
        cols[lid] = (x0, x1)
    bottom = _rules_end(layout, cols, header_bottom, bottom)
    return Grid(cols=cols, top=header_bottom, bottom=bottom)


def _grid_by_rules(layout: PageLayout, top: float, bottom: float) -> Grid | None:
    """Most header words unreadable (a light fax of a 6-point serif): the header row is the
    first ruled band below the coverages bar cut into one edition's columns by its vertical
    rules, with two of its headers read in their own cells."""
    long_rules = [y for y in long_rule_ys(layout) if top < y < bottom]
    h = layout.char_height
    for a, b in zip(long_rules, long_rules[1:], strict=False):
        xs = vrule_xs(layout, a + 3, b - 3)
        if 1.5 * h < b - a < 8 * h:
            cols = columns_by_rules(xs, _header_groups(layout, a, b), min_agree=2)
            if cols is not None:
                return Grid(cols=cols, top=b, bottom=_rules_end(layout, cols, b, bottom))
        elif b - a > 6 * h and (cols := section_columns(xs)):
            # The rule under the disclaimer lost too: the first tall band cut into the
            # grid's columns, its limits in two (labels, amounts), is the first section.
            return Grid(cols=cols, top=a, bottom=_rules_end(layout, cols, a, bottom))
    return None


def _rules_end(layout: PageLayout, cols: dict[str, tuple[float, float]], top: float,
               bottom: float) -> float:
    """The grid ends where its column rules do: without the DESCRIPTION label (OCR garbled
    it) the description box and the holder below it would be read as "other" policies."""
    xs = [x for lid in ("H_POLNUM", "H_EFF", "H_EXP") if lid in cols for x in cols[lid]]
    ends = [r.y1 for r in layout.vrules
            if any(abs(r.x0 - x) < 8 for x in xs) and r.y0 < top + 3 * layout.char_height]
    return min(bottom, max(ends) + 5) if ends else bottom


def _section_top(layout: PageLayout, grid: Grid, anchor: LabelHit) -> float:
    """The ruled line that opens the section, else a little above its label."""
    left = grid.cols.get("H_TYPE", (0, 0))[0]
    right = grid.cols.get("H_EXP", grid.cols["H_POLNUM"])[1]
    h = anchor.height
    cands = [r.y0 for r in layout.hrules
             if r.x0 <= left + 40 and r.x1 >= right - 40
             and anchor.y0 - 3 * h <= r.y0 <= anchor.y0 + 3]
    return max(cands) if cands else anchor.y0 - 0.5 * h


# Labels that say which line of business a band of the grid is; several per line, so one
# label lost to OCR does not lose the section.
SECTION_LABELS = {
    "gl": ("GL", "AGG_APPLIES", "L_DAMAGE_RENTED", "L_MED_EXP", "L_PERSONAL_ADV",
           "L_GENERAL_AGGREGATE", "L_PRODUCTS", "OPT_PROJECT", "OPT_LOC"),
    "auto": ("AUTO", "ANY_AUTO", "OWNED_AUTOS", "SCHEDULED_AUTOS", "HIRED_AUTOS",
             "NON_OWNED_AUTOS", "L_CSL", "L_BI_PERSON", "L_BI_ACCIDENT", "L_PROPERTY_DAMAGE"),
    "umbrella": ("UMBRELLA", "EXCESS", "DED", "RETENTION", "L_AGGREGATE"),
    "wc": ("WC", "EMPLOYERS_LIABILITY", "YN", "PROPRIETOR", "EXCLUDED", "MANDATORY_NH", "IF_YES",
           "PER_STATUTE", "L_EL_EACH_ACCIDENT", "L_EL_DISEASE_EMPLOYEE", "L_EL_DISEASE_POLICY"),
}


def _bands(layout: PageLayout, grid: Grid) -> list[tuple[float, float]]:
    """The grid cut at its full-width ruled lines (section and free-row separators)."""
    left = grid.cols.get("H_TYPE", (0, 0))[0]
    right = grid.cols.get("H_EXP", grid.cols["H_POLNUM"])[1]
    # Most of the way across (a fax or a faint scan loses the ends of some lines).
    ys = sorted(r.y0 for r in layout.hrules
                if min(r.x1, right) - max(r.x0, left) >= 0.75 * (right - left)
                and grid.top + 5 < r.y0 < grid.bottom - 5)
    cuts: list[float] = [grid.top]
    for y in ys:
        if y - cuts[-1] > 12:
            cuts.append(y)
    cuts.append(grid.bottom)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b - a > 12]


def find_sections(layout: PageLayout, grid: Grid) -> list[Section]:
    """Sections by the labels inside each ruled band; label anchors when there are no rules."""
    bands = _bands(layout, grid)
    if len(bands) < 3:
        return _sections_by_anchor(layout, grid)
    sections: list[Section] = []
    lim_x0 = grid.cols["H_LIMITS"][0]

    def in_place(lid: str, h: LabelHit) -> bool:
        # A limit label counts in the limits column, the others left of it: "AGGREGATE"
        # read out of "GEN'L AGGREGATE LIMIT APPLIES" is no umbrella limit.
        return (h.cx > lim_x0) == (lid.startswith("L_") or lid == "PER_STATUTE")

    cut = [b for band in bands for b in _split_at_anchors(layout, grid, *band)]
    kinds = []
    for y0, y1 in cut:
        votes = {kind: sum(1 for lid in lids for h in hits_between(layout, lid, y0, y1)
                           if in_place(lid, h))
                 for kind, lids in SECTION_LABELS.items()}
        kind = max(votes, key=lambda k: votes[k])
        # A section prints five or more of its labels; a free row may hold a typed word
        # that happens to be one ("Scheduled Equip").
        kinds.append(kind if votes[kind] >= 2 else "other")
    if "other" in kinds:
        lim = grid.cols["H_LIMITS"]
        kinds = kinds_by_form_order(kinds, [len(limit_rows(layout, lim, *b)) for b in cut])
    for (y0, y1), kind in zip(cut, kinds, strict=True):
        if sections and sections[-1].kind == kind:
            sections[-1].y1 = y1  # a rule inside a section
        else:
            sections.append(Section(kind, y0, y1, None))
    return sections


PRIMARY = (("gl", ("GL",)), ("auto", ("AUTO",)), ("umbrella", ("UMBRELLA", "EXCESS")),
           ("wc", ("WC",)))


FIRST_LIMIT = {"auto": ("L_CSL",), "wc": ("PER_STATUTE",)}


def _split_at_anchors(layout: PageLayout, grid: Grid, y0: float, y1: float
                      ) -> list[tuple[float, float]]:
    """A band holding the names of two lines of business or more is two sections whose
    parting rule the scan lost (a fax): cut it above each name after the first."""
    x0, x1 = grid.cols.get("H_TYPE", (0, grid.cols["H_POLNUM"][0]))
    lim_x0 = grid.cols["H_LIMITS"][0]
    tops: list[tuple[float, str]] = []
    for kind, lids in PRIMARY:
        hits = [h for lid in lids for h in layout.anchors(lid, y0, y1)
                if x0 - 5 <= h.cx <= x1 + 5]
        # The limit printed on a section's first row names it too, when OCR lost its name.
        hits += [h for lid in FIRST_LIMIT.get(kind, ()) for h in hits_between(layout, lid, y0, y1)
                 if h.cx > lim_x0]
        if hits:
            first = min(hits, key=lambda h: h.y0)
            tops.append((_section_top(layout, grid, first), kind))
    cuts = sorted(t for t, _ in tops if y0 + layout.char_height < t < y1)
    if len({k for _, k in tops}) < 2 or not cuts:
        return [(y0, y1)]
    edges = [y0, *cuts, y1]
    return list(zip(edges, edges[1:], strict=False))


def _sections_by_anchor(layout: PageLayout, grid: Grid) -> list[Section]:
    found: list[tuple[str, LabelHit]] = []
    for kind, lids in PRIMARY:
        hits = [h for lid in lids for h in layout.anchors(lid, grid.top, grid.bottom)]
        if hits:
            found.append((kind, min(hits, key=lambda h: h.y0)))
    found.sort(key=lambda t: t[1].y0)
    sections: list[Section] = []
    tops = [_section_top(layout, grid, a) for _, a in found]
    for i, (kind, anchor) in enumerate(found):
        y1 = tops[i + 1] if i + 1 < len(found) else grid.bottom
        sections.append(Section(kind, tops[i], y1, anchor))
    # Rows under the workers compensation block hold "other" policies.
    if sections and sections[-1].kind == "wc":
        wc = sections[-1]
        last = [h for lid in ("L_EL_DISEASE_POLICY", "IF_YES", "MANDATORY_NH")
                for h in hits_between(layout, lid, wc.y0, wc.y1)]
        if last:
            end = max(h.y1 for h in last)
            h = max(x.height for x in last)
            rules = [r.y0 for r in layout.hrules if end - 2 <= r.y0 <= end + 1.5 * h]
            split = min(rules) if rules else end + 0.4 * h
            sections.append(Section("other", split, wc.y1, None))
            wc.y1 = split
    return sections
