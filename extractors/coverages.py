"""The coverage grid: columns from the printed header and the ruled lines, sections from the
line-of-business labels, then each policy's letter, number, dates, flags, boxes and limits."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from extractors import normalize as nz
from extractors.checkbox import is_checked
from extractors.fields import (
    Collector,
    cell_has_ink,
    join_words,
    same_row,
    text_lines,
    union_bbox,
)
from extractors.layout import LabelHit, PageLayout, group_rows, levenshtein, split_segments
from extractors.patterns import norm
from extractors.skeleton import Skeleton
from pipeline.record import policy_key
from pipeline.types import BBox, Reread, Word

HEADERS = ("H_INSR", "H_TYPE", "H_ADDL", "H_SUBR", "H_POLNUM", "H_EFF", "H_EXP", "H_LIMITS")

GL_LIMITS = {
    "L_EACH_OCCURRENCE": "each_occurrence",
    "L_DAMAGE_RENTED": "damage_to_rented_premises",
    "L_MED_EXP": "medical_expense",
    "L_PERSONAL_ADV": "personal_advertising_injury",
    "L_GENERAL_AGGREGATE": "general_aggregate",
    "L_PRODUCTS": "products_completed_operations_aggregate",
}
AUTO_LIMITS = {
    "L_CSL": "combined_single_limit",
    "L_BI_PERSON": "bodily_injury_per_person",
    "L_BI_ACCIDENT": "bodily_injury_per_accident",
    "L_PROPERTY_DAMAGE": "property_damage",
}
UMB_LIMITS = {"L_EACH_OCCURRENCE": "each_occurrence", "L_AGGREGATE": "aggregate"}
WC_LIMITS = {
    "L_EL_EACH_ACCIDENT": "el_each_accident",
    "L_EL_DISEASE_EMPLOYEE": "el_disease_each_employee",
    "L_EL_DISEASE_POLICY": "el_disease_policy_limit",
}
AUTO_OPTIONS = {
    "ANY_AUTO": "any_auto",
    "OWNED_AUTOS": "owned_autos_only",
    "SCHEDULED_AUTOS": "scheduled_autos",
    "HIRED_AUTOS": "hired_autos_only",
    "NON_OWNED_AUTOS": "non_owned_autos_only",
}


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


def _hits_between(layout: PageLayout, lid: str, y0: float, y1: float) -> list[LabelHit]:
    return [h for h in layout.all(lid) if y0 <= h.cy <= y1]


def _vrule_xs(layout: PageLayout, y0: float, y1: float) -> list[float]:
    """x of vertical rules crossing the band [y0, y1], merged when within a few pixels."""
    xs = sorted(r.x0 for r in layout.vrules if r.y0 <= y0 + 5 and r.y1 >= y1 - 5)
    merged: list[float] = []
    for x in xs:
        if merged and x - merged[-1] < 12:
            continue
        merged.append(x)
    return merged


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
            tol = 2 if len(k) >= 6 else 1 if len(k) >= 4 else 0
            if any(n[: len(k) + 1] and levenshtein(n[: len(k)], k) <= tol and
                   abs(len(n) - len(k)) <= 2 for n in norms if n):
                return lid
            # OCR may split a word ("NU BER"): look in the column's text run together.
            if len(k) >= 5 and fuzz.partial_ratio(k, joined) >= 85:
                return lid
    return None


def _header_band(layout: PageLayout, gl: LabelHit) -> tuple[float, float] | None:
    """(top, bottom) of the header row: between the two long rules above the GL section."""
    long_rules = sorted(r.y0 for r in layout.hrules
                        if r.x1 - r.x0 > 0.5 * layout.page.width and r.y0 < gl.y0)
    if not long_rules:
        return None
    bottom = long_rules[-1]
    if gl.y0 - bottom > 3 * gl.height:
        return None
    above = [y for y in long_rules if y < bottom - 1.2 * gl.height]
    if not above:
        return None
    return above[-1], bottom


def _header_groups(layout: PageLayout, top: float, bottom: float) -> dict[str, BBox]:
    """Header words grouped into columns (words overlapping horizontally), classified."""
    words = [w for w in layout.page.words if top < w.cy < bottom]
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
    for g in groups:
        kind = _header_kind(sorted(g, key=lambda w: (w.y0, w.x0)))
        if kind and kind not in heads:
            heads[kind] = union_bbox(g)
    # A header OCR lost entirely is the gap between its neighbours.
    if "H_POLNUM" not in heads and "H_SUBR" in heads and "H_EFF" in heads:
        a, b = heads["H_SUBR"], heads["H_EFF"]
        heads["H_POLNUM"] = (a[2] + 10, a[1], b[0] - 10, a[3])
    return heads


def find_grid(layout: PageLayout, sk: Skeleton) -> Grid | None:
    page = layout.page
    top_y = sk.coverages.y1 if sk.coverages else sk.top_end
    bottom = sk.description.y0 if sk.description else page.height
    # The first line-of-business label below the coverages bar opens the grid.  Any hit
    # will do here (OCR may glue a check mark to it); prose is above or below the grid.
    anchors = [h for lid in ("GL", "AUTO", "UMBRELLA", "EXCESS", "WC")
               for h in _hits_between(layout, lid, top_y, bottom)]
    if not anchors:
        return None
    gl = min(anchors, key=lambda h: h.y0)
    heads: dict[str, BBox] = {}
    band = _header_band(layout, gl)
    if band is not None:
        heads = _header_groups(layout, *band)
    if "H_POLNUM" not in heads or "H_LIMITS" not in heads:
        # No ruled header row: fall back to the header labels themselves.
        heads = {}
        for lid in HEADERS:
            cands = _hits_between(layout, lid, top_y, gl.y0)
            if cands:
                heads[lid] = max(cands, key=lambda h: h.y0).bbox
    if "H_POLNUM" not in heads or "H_LIMITS" not in heads:
        return None
    header_bottom = band[1] if band else max(b[3] for b in heads.values())
    xs = _vrule_xs(layout, header_bottom + 5, gl.y1)
    cols: dict[str, tuple[float, float]] = {}
    order = [lid for lid in HEADERS if lid in heads]
    for i, lid in enumerate(order):
        hx0, _, hx1, _ = heads[lid]
        left_r = [x for x in xs if x <= hx0 + 0.3 * (hx1 - hx0)]
        right_r = [x for x in xs if x >= hx1 - 0.3 * (hx1 - hx0)]
        if left_r:
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
    return Grid(cols=cols, top=header_bottom, bottom=bottom)


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
    "wc": ("WC", "EMPLOYERS_LIABILITY", "YN", "EXCLUDED", "MANDATORY_NH", "IF_YES",
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
    for y0, y1 in bands:
        votes = {kind: sum(1 for lid in lids for _ in _hits_between(layout, lid, y0, y1))
                 for kind, lids in SECTION_LABELS.items()}
        kind = max(votes, key=lambda k: votes[k])
        # A section prints five or more of its labels; a free row may hold a typed word
        # that happens to be one ("Scheduled Equip").
        if votes[kind] < 2:
            kind = "other"
        if sections and sections[-1].kind == kind:
            sections[-1].y1 = y1  # a rule inside a section
        else:
            sections.append(Section(kind, y0, y1, None))
    return sections


def _sections_by_anchor(layout: PageLayout, grid: Grid) -> list[Section]:
    found: list[tuple[str, LabelHit]] = []
    for kind, lids in (("gl", ("GL",)), ("auto", ("AUTO",)), ("umbrella", ("UMBRELLA", "EXCESS")),
                       ("wc", ("WC",))):
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
                for h in _hits_between(layout, lid, wc.y0, wc.y1)]
        if last:
            end = max(h.y1 for h in last)
            h = max(x.height for x in last)
            rules = [r.y0 for r in layout.hrules if end - 2 <= r.y0 <= end + 1.5 * h]
            split = min(rules) if rules else end + 0.4 * h
            sections.append(Section("other", split, wc.y1, None))
            wc.y1 = split
    return sections


def _col_words(layout: PageLayout, grid: Grid, col: str, y0: float, y1: float) -> list[Word]:
    if col not in grid.cols:
        return []
    x0, x1 = grid.cols[col]
    return layout.words_in(x0 + 2, y0 + 2, x1 - 2, y1 - 2)


def row_bounds(layout: PageLayout, grid: Grid, line: list[Word]) -> tuple[float, float]:
    """The ruled row around a line of words in the grid (else the line's height, padded)."""
    x0, x1 = grid.cols.get("H_TYPE", (0, layout.page.width))
    top, bottom = min(w.y0 for w in line), max(w.y1 for w in line)
    h = bottom - top
    spans = [r.y0 for r in layout.hrules if r.x0 <= x0 + 20 and r.x1 >= x1 - 20]
    above = [y for y in spans if top - 2 * h <= y <= top + 2]
    below = [y for y in spans if bottom - 2 <= y <= bottom + 2 * h]
    return (max(above) if above else top - 0.6 * h, min(below) if below else bottom + 0.6 * h)


def _first_line(words: list[Word], ok) -> list[Word]:
    for line in text_lines(words):
        if ok(join_words(line)):
            return line
    return []


class PolicyReader:
    def __init__(self, layout: PageLayout, grid: Grid, col: Collector) -> None:
        self.layout = layout
        self.grid = grid
        self.col = col
        self.counts: dict[str, int] = {}

    def key(self, line: str) -> str:
        self.counts[line] = self.counts.get(line, 0) + 1
        return policy_key(line, self.counts[line])

    def common(self, base: str, y0: float, y1: float) -> bool:
        """Number, dates, letter and flags of one policy; True when anything was read.

        Agency systems type these on one row of the section; once the number or dates
        place that row, the one-character cells are read on it alone.
        """
        L, g, col = self.layout, self.grid, self.col
        num = _first_line(_col_words(L, g, "H_POLNUM", y0, y1),
                          lambda t: any(c.isdigit() for c in t))
        # OCR splits and joins monospaced numbers at will ("WC7 23103022"): where its
        # words are several, the spacing itself is a guess.
        structure = 0.85 if L.page.source == "ocr" and len(num) > 1 else 1.0
        got = bool(col.add(f"{base}.policy_number", num, nz.parse_policy_number,
                           structure=structure))
        row: list[Word] = list(num)
        for colname, attr in (("H_EFF", "effective_date"), ("H_EXP", "expiration_date")):
            dates = [w for w in _col_words(L, g, colname, y0, y1) if nz.parse_date(w.text)[0]]
            got |= bool(col.add(f"{base}.{attr}", dates[:1], nz.parse_date))
            row += dates[:1]
        band = (y0, y1)
        if row:
            h = max(w.height for w in row)
            band = (max(y0, min(w.y0 for w in row) - 0.9 * h),
                    min(y1, max(w.y1 for w in row) + 0.9 * h))
        letter = _first_line(_col_words(L, g, "H_INSR", *band),
                             lambda t: nz.parse_insurer_letter(t)[0] is not None)
        if col.add(f"{base}.insurer", letter, nz.parse_insurer_letter):
            got = True
        else:
            self._reread("H_INSR", band, "ABCDEF")
        if got:
            self.flags(base, *band)
        return got

    def _cell(self, colname: str, band: tuple[float, float]) -> BBox | None:
        if colname not in self.grid.cols:
            return None
        x0, x1 = self.grid.cols[colname]
        return (int(x0), int(band[0]), int(x1), int(band[1]))

    def _reread(self, colname: str, band: tuple[float, float], charset: str) -> bool:
        """Ask for a cell to be OCR'd alone when it has ink that whole-page OCR missed."""
        cell = self._cell(colname, band)
        if cell is None or not self.col.allow_rereads:
            return False
        if cell_has_ink(self.layout, cell):
            self.col.rereads.append(Reread(self.layout.page.number, cell, charset))
            return True
        return False

    def flags(self, base: str, y0: float, y1: float) -> None:
        for colname, attr in (("H_ADDL", "additional_insured"), ("H_SUBR", "subrogation_waived")):
            words = _col_words(self.layout, self.grid, colname, y0, y1)
            text = " ".join(w.text for w in words)
            value, fit = nz.parse_flag(text)
            if value is None:
                # Something unreadable in the cell: keep the likelier reading, ask a human.
                value, fit = True, 0.3
            ocr = None
            if not words:
                ink = cell_has_ink(self.layout, self._cell(colname, (y0, y1)) or (0, 0, 0, 0))
                if ink:
                    # Printing that OCR did not read: not a blank.  Read it alone if we may.
                    self._reread(colname, (y0, y1), "YNX/A")
                    ocr = 0.3
                else:
                    ocr = self._empty_cell_conf()
            self.col.put(f"{base}.{attr}", value, words, fit=fit, raw=text,
                         bbox=None if words else self._cell(colname, (y0, y1)), ocr=ocr)

    def _empty_cell_conf(self) -> float:
        return 1.0 if self.layout.page.source == "text" else 0.97

    def limits(self, base: str, table: dict[str, str], y0: float, y1: float) -> bool:
        got = False
        lim_x = self.grid.cols.get("H_LIMITS", (0, self.layout.page.width))
        for lid, key in table.items():
            for hit in _hits_between(self.layout, lid, y0, y1):
                if hit.x0 < lim_x[0] - 20:
                    continue
                # After the label come its remainder ("(Any one person)") and the form's
                # "$"; the amount is what carries digits.
                words = [w for w in same_row(self.layout.page.words, hit)
                         if w.x0 > hit.x1 and w.x1 <= lim_x[1] + 10
                         and any(c.isdigit() for c in w.text)]
                structure = 1.0 if hit.edits == 0 else 0.97
                if self.col.add(f"{base}.limits.{key}", words, nz.parse_money,
                                structure=structure):
                    got = True
                break
        return got

    def checked(self, lid: str, y0: float, y1: float, *, col: str = "H_TYPE"
                ) -> tuple[bool, float, LabelHit | None]:
        """Is the box of option ``lid`` (printed in column ``col``) checked?"""
        x0, x1 = self.grid.cols.get(col, (0, self.layout.page.width))
        hits = [h for h in _hits_between(self.layout, lid, y0, y1)
                if x0 - 5 <= h.cx <= x1 + 5]
        if not hits:
            return False, 0.0, None
        val, conf, _, _ = is_checked(self.layout, hits[0])
        return val, conf, hits[0]

    def orphan_checks(self, y0: float, y1: float, options: dict[str, str]) -> bool:
        """Checked boxes in the TYPE column with none of the section's option labels beside
        them (OCR lost the label).  Each is sent to be read again; True when any remain."""
        x0, x1 = self.grid.cols.get("H_TYPE", (0, 0))
        hits = [h for lid in options for h in _hits_between(self.layout, lid, y0 - 20, y1 + 20)]
        orphan = False
        for b in self.layout.page.boxes:
            bx0, by0, bx1, by1 = b.bbox
            if b.fill < 0.2 or not (x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1):
                continue
            bh = by1 - by0
            # The label starts beside the box: its first line level with it.
            claimed = any(bx1 - 5 <= h.x0 <= bx1 + 3 * bh and by0 - 0.6 * bh <= h.y0 <= by1
                          for h in hits)
            if claimed:
                continue
            orphan = True
            if self.col.allow_rereads:
                region = (bx1 + 2, int(by0 - bh), int(bx1 + 10 * bh), int(by1 + bh))
                self.col.rereads.append(Reread(self.layout.page.number, region, ""))
        return orphan

    def put_check(self, path: str, lid_values: dict[str, str], y0: float, y1: float) -> None:
        """A one-of-several box group (OCCUR / CLAIMS-MADE): the checked option, if any."""
        chosen = []
        for lid, value in lid_values.items():
            val, conf, hit = self.checked(lid, y0, y1)
            if hit is not None and val:
                chosen.append((value, conf, hit))
        if len(chosen) == 1:
            value, conf, hit = chosen[0]
            self.col.put(path, value, list(hit.words), ocr=conf, raw=value)
        elif len(chosen) > 1:
            value, conf, hit = max(chosen, key=lambda c: c[1])
            self.col.put(path, value, list(hit.words), ocr=conf * 0.4, raw=value)
