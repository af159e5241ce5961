"""The coverage grid: columns from the printed header and the ruled lines, sections from the
line-of-business labels, then each policy's letter, number, dates, flags, boxes and limits."""

from __future__ import annotations

from dataclasses import dataclass

from extractors import normalize as nz
from extractors.checkbox import is_checked
from extractors.fields import Collector, join_words, same_row, text_lines
from extractors.layout import LabelHit, PageLayout
from pipeline.record import policy_key
from pipeline.types import Word

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


def find_grid(layout: PageLayout) -> Grid | None:
    page = layout.page
    gl = layout.first("GL")
    desc = layout.first("DESCRIPTION")
    cov = layout.first("COVERAGES")
    top_y = cov.y1 if cov else 0
    bottom = desc.y0 if desc else page.height
    anchors = [h for lid in ("GL", "AUTO", "UMBRELLA", "EXCESS", "WC")
               for h in _hits_between(layout, lid, top_y, bottom)]
    if not anchors:
        return None
    first_anchor = min(anchors, key=lambda h: h.y0)
    if gl is None or gl.y0 > first_anchor.y0:
        gl = first_anchor
    heads: dict[str, LabelHit] = {}
    for lid in HEADERS:
        cands = _hits_between(layout, lid, top_y, gl.y0)
        if cands:
            heads[lid] = max(cands, key=lambda h: h.y0)  # the one closest above the grid
    if "H_POLNUM" not in heads or "H_LIMITS" not in heads:
        return None
    header_bottom = max(h.y1 for h in heads.values())
    xs = _vrule_xs(layout, header_bottom + 5, gl.y1)
    cols: dict[str, tuple[float, float]] = {}
    order = [lid for lid in HEADERS if lid in heads]
    for i, lid in enumerate(order):
        h = heads[lid]
        left_r = [x for x in xs if x <= h.x0 + 0.3 * (h.x1 - h.x0)]
        right_r = [x for x in xs if x >= h.x1 - 0.3 * (h.x1 - h.x0)]
        if left_r:
            x0 = left_r[-1]
        elif i:
            x0 = (heads[order[i - 1]].x1 + h.x0) / 2
        else:
            x0 = 0
        if right_r:
            x1 = right_r[0]
        elif i + 1 < len(order):
            x1 = (h.x1 + heads[order[i + 1]].x0) / 2
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


def find_sections(layout: PageLayout, grid: Grid) -> list[Section]:
    found: list[tuple[str, LabelHit]] = []
    for kind, lids in (("gl", ("GL",)), ("auto", ("AUTO",)), ("umbrella", ("UMBRELLA", "EXCESS")),
                       ("wc", ("WC",))):
        hits = [h for lid in lids for h in _hits_between(layout, lid, grid.top, grid.bottom)]
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
        """Letter, flags, number and dates of one policy; True when anything was read."""
        L, g, col = self.layout, self.grid, self.col
        letter = _first_line(_col_words(L, g, "H_INSR", y0, y1),
                             lambda t: nz.parse_insurer_letter(t)[0] is not None)
        got = bool(col.add(f"{base}.insurer", letter, nz.parse_insurer_letter))
        num = _first_line(_col_words(L, g, "H_POLNUM", y0, y1),
                          lambda t: any(c.isdigit() for c in t))
        got |= bool(col.add(f"{base}.policy_number", num, nz.parse_policy_number))
        for colname, attr in (("H_EFF", "effective_date"), ("H_EXP", "expiration_date")):
            dates = [w for w in _col_words(L, g, colname, y0, y1) if nz.parse_date(w.text)[0]]
            got |= bool(col.add(f"{base}.{attr}", dates[:1], nz.parse_date))
        return got

    def flags(self, base: str, y0: float, y1: float) -> None:
        for colname, attr in (("H_ADDL", "additional_insured"), ("H_SUBR", "subrogation_waived")):
            words = _col_words(self.layout, self.grid, colname, y0, y1)
            text = " ".join(w.text for w in words)
            value, fit = nz.parse_flag(text)
            if value is None:
                # Something unreadable in the cell: keep the likelier reading, ask a human.
                value, fit = True, 0.3
            bbox = None
            if not words and colname in self.grid.cols:
                x0, x1 = self.grid.cols[colname]
                bbox = (int(x0), int(y0), int(x1), int(min(y1, y0 + 120)))
            ocr = None if words else self._empty_cell_conf()
            self.col.put(f"{base}.{attr}", value, words, fit=fit, raw=text, bbox=bbox, ocr=ocr)

    def _empty_cell_conf(self) -> float:
        return 1.0 if self.layout.page.source == "text" else 0.97

    def limits(self, base: str, table: dict[str, str], y0: float, y1: float) -> bool:
        got = False
        lim_x = self.grid.cols.get("H_LIMITS", (0, self.layout.page.width))
        for lid, key in table.items():
            for hit in _hits_between(self.layout, lid, y0, y1):
                if hit.x0 < lim_x[0] - 20:
                    continue
                words = [w for w in same_row(self.layout.page.words, hit)
                         if w.x0 > hit.x1 and w.x1 <= lim_x[1] + 10]
                structure = 1.0 if hit.edits == 0 else 0.97
                if self.col.add(f"{base}.limits.{key}", words, nz.parse_money,
                                structure=structure):
                    got = True
                break
        return got

    def checked(self, lid: str, y0: float, y1: float) -> tuple[bool, float, LabelHit | None]:
        hits = [h for h in _hits_between(self.layout, lid, y0, y1)
                if h.x1 < self.grid.cols.get("H_ADDL", (self.layout.page.width,))[0] + 5]
        if not hits:
            return False, 0.0, None
        val, conf, _, _ = is_checked(self.layout, hits[0])
        return val, conf, hits[0]

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
