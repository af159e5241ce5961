"""Each line of business of the coverage grid, read section by section."""

from __future__ import annotations

from extractors import normalize as nz
from extractors.cells import col_words, row_bounds
from extractors.coverages import PolicyReader
from extractors.fields import Collector, join_words, same_row, text_lines
from extractors.grid import Grid, Section, find_grid, find_sections, hits_between
from extractors.layout import PageLayout
from extractors.lines import AUTO_LIMITS, AUTO_OPTIONS, GL_LIMITS, UMB_LIMITS, WC_LIMITS
from extractors.skeleton import Skeleton
from pipeline.types import Reread


def read_coverages(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    grid = find_grid(layout, sk)
    if grid is None:
        return
    reader = PolicyReader(layout, grid, col)
    for sec in find_sections(layout, grid):
        reader.enter(sec)
        before = set(col.fields)
        if sec.kind == "gl":
            _gl(reader, sec)
        elif sec.kind == "auto":
            _auto(reader, sec)
        elif sec.kind == "umbrella":
            _umbrella(reader, sec)
        elif sec.kind == "wc":
            _wc(reader, sec)
        else:
            _others(reader, grid, sec)
        _no_surer_than_its_evidence(col, set(col.fields) - before)


def _no_surer_than_its_evidence(col: Collector, paths: set[str]) -> None:
    """A policy is there because a number, a date or a limit was read on it.  Its flags
    and check-box lists come from empty cells and unchecked boxes, which would be as sure
    for a section that holds no policy at all: none of them may be surer than the surest
    value that proves the policy exists (a lone garbled "3" as a limit proves little)."""
    by_policy: dict[str, list[str]] = {}
    for p in paths:
        by_policy.setdefault(p.split(".")[1], []).append(p)
    for mine in by_policy.values():
        cap = max((col.fields[p].confidence for p in mine
                   if p.endswith(_PROOF) or ".limits." in p), default=1.0)
        if cap >= 0.9:
            continue
        for p in mine:
            f = col.fields[p]
            if p.endswith(_EMPTY_PROVABLE) and f.confidence > cap:
                f.confidence = cap
                f.notes.append("the policy itself was read unsurely")


_PROOF = (".policy_number", ".effective_date", ".expiration_date")


# Values read from blank cells and unchecked boxes: as sure in a section with no policy.
_EMPTY_PROVABLE = (".additional_insured", ".subrogation_waived", ".autos",
                   ".proprietor_excluded")


def _present(reader: PolicyReader, line: str, sec: Section, limits: dict[str, str]) -> str | None:
    """Read the common columns and limits under a provisional key; drop it all if empty."""
    key = reader.key(line)
    base = f"policies.{key}"
    got = reader.common(base, sec.y0, sec.y1)
    got |= reader.limits(base, limits, sec.y0, sec.y1, sec.kind)
    if not got:
        for p in [p for p in reader.col.fields if p.startswith(base + ".")]:
            del reader.col.fields[p]
        reader.counts[line] -= 1
        return None
    if f"{base}.additional_insured" not in reader.col.fields:
        reader.flags(base, sec.y0, sec.y1)  # only limits were read: the flags' row is unknown
    twins = reader.twin_rows(base, sec.y0, sec.y1)
    if twins:
        # The first policy's flags are on its own row, not on the next one's.
        num = reader.col.fields[f"{base}.policy_number"].bbox
        reader.flags(base, num[1] - 0.9 * (num[3] - num[1]), twins[0][0])
    for band in twins:
        # A second policy of the line on the next row: its own number, dates, insurer and
        # flags; the section's limits and check boxes stay the first one's.
        twin = f"policies.{reader.key(line)}"
        if not reader.common(twin, *band):
            reader.counts[line] -= 1
    return base


def _gl(reader: PolicyReader, sec: Section) -> None:
    base = _present(reader, "general_liability", sec, GL_LIMITS)
    if base is None:
        return
    reader.put_check(f"{base}.occurrence_basis",
                     {"CLAIMS_MADE": "claims_made", "OCCUR": "occurrence"}, sec.y0, sec.y1)
    applies = hits_between(reader.layout, "AGG_APPLIES", sec.y0, sec.y1)
    y0 = applies[0].y0 if applies else sec.y0
    reader.put_check(f"{base}.aggregate_applies_per",
                     {"OPT_POLICY": "policy", "OPT_PROJECT": "project", "OPT_LOC": "location"},
                     y0, sec.y1)


def _auto(reader: PolicyReader, sec: Section) -> None:
    base = _present(reader, "automobile_liability", sec, AUTO_LIMITS)
    if base is None:
        return
    autos: list[str] = []
    words = []
    conf = 1.0
    for lid, value in AUTO_OPTIONS.items():
        val, c, hit = reader.checked(lid, sec.y0, sec.y1)
        if hit is None:
            continue
        conf = min(conf, c)
        if val:
            autos.append(value)
            words.extend(hit.words)
    if reader.orphan_checks(sec.y0, sec.y1, AUTO_OPTIONS):
        conf *= 0.3  # a checked box whose label we could not read: the list may be short
    if not autos and reader.layout.page.source == "ocr":
        conf *= 0.6  # an auto policy covers some autos: more likely a mark missed than none
    reader.col.put(f"{base}.autos", autos, words, ocr=conf, raw=", ".join(autos))


def _umbrella(reader: PolicyReader, sec: Section) -> None:
    umb, c_umb, h_umb = reader.checked("UMBRELLA", sec.y0, sec.y1)
    exc, c_exc, h_exc = reader.checked("EXCESS", sec.y0, sec.y1)
    line = "excess_liability" if exc and not umb else "umbrella_liability"
    base = _present(reader, line, sec, UMB_LIMITS)
    if base is None:
        return
    reader.put_check(f"{base}.occurrence_basis",
                     {"CLAIMS_MADE": "claims_made", "OCCUR": "occurrence"}, sec.y0, sec.y1)
    # The amount after "RETENTION $" is a retention only when that box is checked (the
    # same cell holds a deductible when DED is).
    ret, c_ret, h_ret = reader.checked("RETENTION", sec.y0, sec.y1)
    ded, c_ded, _ = reader.checked("DED", sec.y0, sec.y1)
    if h_ret is not None and not (ded and not ret):
        words = [w for w in same_row(reader.layout.page.words, h_ret)
                 if h_ret.x1 < w.x0 < h_ret.x1 + 12 * h_ret.height
                 and w.x1 < reader.grid.cols.get("H_ADDL", (1e9,))[0]
                 and any(c.isdigit() for c in w.text)]
        structure = min(c_ret, c_ded) if ret else 0.5
        f = reader.col.add(f"{base}.retention", words, nz.parse_money, structure=structure)
        if f is not None and not ret:
            # The amount may be a deductible: what is unsure is the box, not the reading
            # (a second read had vouched for one at 0.93, seed 7474).
            f.notes.append("neither RETENTION nor DED read as checked")
    if umb == exc:
        # Neither or both boxes: the line is a guess a reviewer must confirm, however well
        # its values read (the note keeps the second read from vouching for them).
        for path in [p for p in reader.col.fields if p.startswith(base + ".")]:
            f = reader.col.fields[path]
            f.confidence = round(f.confidence * 0.5, 4)
            f.notes.append("neither or both of UMBRELLA and EXCESS read as checked")


def _wc(reader: PolicyReader, sec: Section) -> None:
    base = _present(reader, "workers_compensation", sec, WC_LIMITS)
    if base is None:
        return
    val, conf, hit = reader.checked("PER_STATUTE", sec.y0, sec.y1, col="H_LIMITS")
    if hit is not None:
        reader.col.put(f"{base}.per_statute", val, list(hit.words), ocr=conf, raw=str(val))
    _proprietor(reader, base, sec)


def _proprietor(reader: PolicyReader, base: str, sec: Section) -> None:
    """The Y/N typed in the small box of "ANY PROPRIETOR/.../EXCLUDED?"."""
    layout, grid = reader.layout, reader.grid
    # The box sits beside the two label lines "ANY PROPRIETOR/PARTNER/EXECUTIVE" and
    # "OFFICER/MEMBER EXCLUDED?"; either one anchors it, since OCR often garbles one of them.
    anchors = (hits_between(layout, "EXCLUDED", sec.y0, sec.y1)
               + hits_between(layout, "PROPRIETOR", sec.y0, sec.y1))
    type_col = grid.cols.get("H_TYPE", (0, grid.cols.get("H_ADDL", (layout.page.width,))[0]))
    in_col = [b for b in layout.page.boxes if type_col[0] <= b.bbox[0]
              and b.bbox[2] <= type_col[1] and sec.y0 <= (b.bbox[1] + b.bbox[3]) / 2 <= sec.y1]
    if anchors:
        mid = (min(a.y0 for a in anchors) + max(a.y1 for a in anchors)) / 2
    elif len(in_col) == 1 and layout.page.source == "ocr":
        # Both label lines garbled: the section's one box in the TYPE column is this one.
        mid = (in_col[0].bbox[1] + in_col[0].bbox[3]) / 2
    else:
        return
    yn_words = {id(w) for h in hits_between(layout, "YN", sec.y0, sec.y1) for w in h.words}
    # Only this box and its letter sit in the type column of the section, beside the labels.
    cands = [w for w in layout.words_in(type_col[0], sec.y0, type_col[1], sec.y1)
             if id(w) not in yn_words and w.text.strip("[]()|").upper() in ("Y", "N")]
    if not cands:
        # OCR rarely reads a letter alone in a box: read the box by itself.
        if in_col and reader.col.allow_rereads:
            box = max(in_col, key=lambda b: b.bbox[0])
            reader.col.rereads.append(Reread(layout.page.number, box.bbox, "YN"))
        return
    w = min(cands, key=lambda w: abs(w.cy - mid))
    value = w.text.strip("[]()|").upper() == "Y"
    reader.col.put(f"{base}.proprietor_excluded", value, [w], raw=w.text)


def _others(reader: PolicyReader, grid: Grid, sec: Section) -> None:
    """Free rows at the bottom of the grid: one `other` policy per row with a type."""
    layout = reader.layout
    type_words = col_words(layout, grid, "H_TYPE", sec.y0, sec.y1)
    for line in text_lines(type_words):
        if not nz.clean_text(join_words(line)):
            continue
        y0, y1 = row_bounds(layout, grid, line)
        key = reader.key("other")
        base = f"policies.{key}"
        if not reader.common(base, y0, y1):
            # No policy number, date or insurer letter on the row: the second line of a
            # type ("PROFESSIONAL" / "LIABILITY"), or a section OCR could not name read as
            # free rows -- no policy of its own, and its empty flag cells prove nothing.
            reader.counts["other"] -= 1
            continue
        reader.col.add(f"{base}.description", line, nz.parse_text)
        lim = col_words(layout, grid, "H_LIMITS", y0, y1)
        if lim:
            reader.col.add(f"{base}.limits.limit", lim, nz.parse_limit_text)
