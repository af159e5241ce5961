"""Reading one policy out of the coverage grid: its letter, number, dates, flags, check
boxes and limits, within a section that extractors/grid.py located."""

from __future__ import annotations

from extractors import normalize as nz
from extractors.cells import amount_like, col_words, first_line, printed_sign_end
from extractors.checkbox import is_checked, judge_box
from extractors.fields import (
    Collector,
    cell_has_faint_ink,
    cell_has_ink,
    date_words,
    join_words,
    same_row,
    text_lines,
)
from extractors.glyphs import held, mend_number
from extractors.grid import Grid, Section, hits_between
from extractors.gridrules import (
    LIMIT_ROWS,
    beside_own,
    limit_divider,
    limit_rows,
    option_slots,
)
from extractors.layout import PLACE_EDITS, LabelHit, PageLayout, place_hit
from pipeline.record import policy_key
from pipeline.reread import DATE_CHARS, INSET, MONEY_CHARS
from pipeline.types import BBox, CheckBox, Reread, Word


class PolicyReader:
    def __init__(self, layout: PageLayout, grid: Grid, col: Collector) -> None:
        self.layout = layout
        self.grid = grid
        self.col = col
        self.counts: dict[str, int] = {}
        self.section: Section | None = None
        self._slots: dict[str, dict[str, CheckBox]] = {}  # column -> option -> its box

    def _unread_beside(self, path: str, words: list[Word], colname: str) -> None:
        """Whole-page OCR can drop the start of a word it reads ("CA-5824572-65" read as
        "824572-65", at 0.92): printing left or right of the value in its cell that no word
        covers makes it unsure, and the cell is read again on its own."""
        x0, x1 = self.grid.cols[colname]
        first, last = min(words, key=lambda w: w.x0), max(words, key=lambda w: w.x1)
        h = max(w.height for w in words)
        y0, y1 = min(w.y0 for w in words), max(w.y1 for w in words)
        others = [w for w in self.layout.words_in(x0, y0, x1, y1) if w not in words]
        gaps = [(x0 + 6, first.x0 - 0.4 * h), (last.x1 + 0.4 * h, x1 - 6)]  # not the rules
        if not any(g1 - g0 > 0.5 * h and cell_has_ink(self.layout, (g0, y0 - 4, g1, y1 + 4))
                   and not any(g0 <= w.cx <= g1 for w in others) for g0, g1 in gaps):
            return
        f = self.col.fields.get(path)
        if f is not None:
            f.confidence = round(f.confidence * 0.5, 4)
            f.notes.append("printing beside it in the cell was not read")
        if self.col.allow_rereads:
            self.col.rereads.append(Reread(self.layout.page.number,
                                           (int(x0), int(y0 - 0.5 * h), int(x1),
                                            int(y1 + 0.5 * h)), ""))

    def key(self, line: str) -> str:
        self.counts[line] = self.counts.get(line, 0) + 1
        return policy_key(line, self.counts[line])

    def twin_rows(self, base: str, y0: float, y1: float) -> list[tuple[float, float]]:
        """Rows of a section below its policy's own that hold a second policy of the line
        (another fleet, another insurer): a policy number with a date beside it.  A second
        line of a wrapped number has no date, and is not one."""
        first = self.col.fields.get(f"{base}.policy_number")
        return [] if first is None else self._dated_numbers(first.bbox[3], y0, y1)

    def _dated_numbers(self, below: float, y0: float, y1: float) -> list[tuple[float, float]]:
        L, g = self.layout, self.grid
        out = []
        for line in text_lines(col_words(L, g, "H_POLNUM", y0, y1)):
            top, bottom = min(w.y0 for w in line), max(w.y1 for w in line)
            h = bottom - top
            if top <= below or not any(c.isdigit() for c in join_words(line)):
                continue
            band = (top - 0.5 * h, bottom + 0.5 * h)
            if any(date_words(col_words(L, g, col, *band), nz.parse_date)
                   for col in ("H_EFF", "H_EXP")):
                out.append(band)
        return out

    def common(self, base: str, y0: float, y1: float) -> bool:
        """Number, dates, letter and flags of one policy; True when anything was read.

        Agency systems type these on one row of the section; once the number or dates
        place that row, the one-character cells are read on it alone.
        """
        L, g, col = self.layout, self.grid, self.col
        num = first_line(col_words(L, g, "H_POLNUM", y0, y1),
                          lambda t: any(c.isdigit() for c in t))
        twins = self._dated_numbers(max(w.y1 for w in num), y0, y1) if num else []
        if twins:
            # A second policy of the line typed on a row below: its dates and letter are
            # not this one's (a garbled date here took the twin's, and with it its letter).
            y1 = max(twins[0][0], max(w.y1 for w in num))
        # OCR splits and joins monospaced numbers at will ("WC7 23103022"): where its
        # words are several, the spacing itself is a guess.
        structure = 0.85 if L.page.source == "ocr" and len(num) > 1 else 1.0
        mended = mend_number(L.page, num)
        pol = col.add(f"{base}.policy_number", mended, nz.parse_policy_number,
                      structure=structure)
        got = bool(pol)
        if pol is not None and held(num, mended):
            # Held by its glyphs, and said, so that no second read vouches for it
            # ("4341Z819038" read all digits, and agreed on by three more reads, seed 5656).
            pol.notes.append("a digit as wide as a letter: a letter read as a digit?")
        if pol is not None and self._wrapped(num, y1):
            # The second read cuts the number's own line: it would agree with half of it.
            pol.notes.append("more printing right below the number: wrapped onto two lines?")
        if num and L.page.source == "ocr":
            self._unread_beside(f"{base}.policy_number", num, "H_POLNUM")
        row: list[Word] = list(num)
        unread: list[tuple[str, str]] = []
        for colname, attr in (("H_EFF", "effective_date"), ("H_EXP", "expiration_date")):
            dates = date_words(col_words(L, g, colname, y0, y1), nz.parse_date)
            if col.add(f"{base}.{attr}", dates, nz.parse_date):
                got = True
            else:
                unread.append((colname, attr))
            row += dates
        band = (y0, y1)
        if row:
            h = max(w.height for w in row)
            band = (max(y0, min(w.y0 for w in row) - 0.9 * h),
                    min(y1, max(w.y1 for w in row) + 0.9 * h))
        for colname, attr in unread:
            # A date OCR garbled past parsing ("2-94-9023"): its cell read alone, digits
            # only; what is still garbled then is filled in from the other dates.
            self._reread(colname, band, DATE_CHARS)
            lines = text_lines(col_words(L, g, colname, *band))
            if lines and row:
                # The line level with the row's other values (the band may reach the
                # next policy's row), in reading order.
                cy = sum(w.cy for w in row) / len(row)
                line = min(lines, key=lambda ln: abs(sum(w.cy for w in ln) / len(ln) - cy))
                col.garbled[f"{base}.{attr}"] = sorted(line, key=lambda w: w.x0)
        letter = first_line(col_words(L, g, "H_INSR", *band),
                             lambda t: nz.parse_insurer_letter(t)[0] is not None)
        if col.add(f"{base}.insurer", letter, nz.parse_insurer_letter):
            got = True
        else:
            self._reread("H_INSR", band, "ABCDEF")
        if got:
            self.flags(base, *band)
        return got

    def _wrapped(self, num: list[Word], y1: float) -> bool:
        """A line typed tight under the policy number in its cell (a number wrapped onto
        two lines; a second policy's number is a row further down)."""
        h = max(w.height for w in num)
        bottom = max(w.y1 for w in num)
        return any(w not in num and bottom - 2 < w.y0 < bottom + 0.6 * h
                   for w in col_words(self.layout, self.grid, "H_POLNUM", bottom, y1))

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
            if colname not in self.grid.cols:
                continue  # the 2009/09 form has no SUBR WVD column: nothing to read
            words = col_words(self.layout, self.grid, colname, y0, y1)
            text = " ".join(w.text for w in words)
            value, fit = nz.parse_flag(text)
            if text.strip() == "/" and base.endswith("workers_compensation"):
                # The form's own "N / A" in the workers compensation row, its letters lost:
                # no check mark (a WC policy read as naming an additional insured, twice on
                # seed 8484).
                value, fit = False, 0.9
            if value is None:
                # Something unreadable in the cell: keep the likelier reading, ask a human.
                value, fit = True, 0.3
            ocr = None
            if not words:
                cell = self._cell(colname, (y0, y1)) or (0, 0, 0, 0)
                # A thin "Y" at 150 dpi is light gray: no blank either (three read as
                # blanks at 0.97 on a scan of seed 9999).
                ink = cell_has_ink(self.layout, cell) or cell_has_faint_ink(self.layout, cell)
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

    def limits(self, base: str, table: dict[str, str], y0: float, y1: float,
               kind: str | None = None) -> bool:
        got = False
        lim_x = self.grid.cols.get("H_LIMITS", (0, self.layout.page.width))
        labelled: dict[str, LabelHit] = {}
        for lid, key in table.items():
            for hit in hits_between(self.layout, lid, y0, y1):
                if hit.x0 < lim_x[0] - 20:
                    continue
                labelled[key] = hit
                # After the label come its remainder ("(Any one person)") and the form's
                # "$"; the amount is what carries digits.
                words = [w for w in same_row(self.layout.page.words, hit)
                         if w.x0 > hit.x1 and w.x1 <= lim_x[1] + 10 and amount_like(w.text)]
                structure = 1.0 if hit.edits == 0 else 0.97
                if self.col.add(f"{base}.limits.{key}", words, nz.parse_money,
                                structure=structure):
                    got = True
                else:
                    self._reread_amount(hit, lim_x[1])
                break
        if kind in LIMIT_ROWS and self.layout.page.source == "ocr" and "H_LIMITS" in self.grid.cols:
            got |= self._limits_by_rows(base, kind, y0, y1, labelled)
        return got

    def _limits_by_rows(self, base: str, kind: str, y0: float, y1: float,
                        labelled: dict[str, LabelHit]) -> bool:
        """Limits whose labels OCR garbled past matching ("LACH OC CURRENT"), named by their
        ruled row: each section prints its limits in one order in every edition.  Only when
        the section has exactly its rows and every label that was read is in its own row."""
        lim = self.grid.cols["H_LIMITS"]
        rows = limit_rows(self.layout, lim, y0, y1)
        keys = LIMIT_ROWS[kind]
        divider = limit_divider(self.layout, lim, y0, y1)
        if len(rows) != len(keys) or divider is None or len(labelled) == len(
                [k for k in keys if k]):
            return False
        for key, hit in labelled.items():
            row = next((i for i, (a, b) in enumerate(rows) if a <= hit.cy <= b), None)
            if row is None or keys[row] != key:
                return False
        # A row named by its place alone is less sure than one whose label was read; more
        # so when no label of the section confirms the rows.
        structure = 0.95 if labelled else 0.85
        got = False
        h = self.layout.char_height
        for (a, b), key in zip(rows, keys, strict=True):
            path = f"{base}.limits.{key}"
            if key is None or key in labelled or path in self.col.fields:
                continue
            words = [w for w in self.layout.words_in(divider, a, lim[1] + 10, b)
                     if amount_like(w.text)]
            if self.col.add(path, words, nz.parse_money, structure=structure):
                self.col.fields[path].notes.append("limit named by its row: label unread")
                got = True
            elif self.col.allow_rereads:
                self._reread_amount_cell((int(divider), int(a), int(lim[1]), int(b)), h)
        return got

    def _reread_amount(self, hit: LabelHit, right: float) -> None:
        """An amount OCR garbled or lost beside its label: its cell (right of the rule that
        parts labels from amounts, so the label's own words stay) read alone, digits only."""
        h = hit.height
        rules = [r.x0 for r in self.layout.vrules
                 if hit.x1 < r.x0 < right - 2 * h and r.y0 <= hit.cy <= r.y1]
        if not rules or not self.col.allow_rereads:
            return
        x0 = min(rules)
        # The row's own rules above and below (an amount sits level with the middle of a
        # two-line label), else a little around the label.
        across = [r.y0 for r in self.layout.hrules if r.x0 < x0 + h and r.x1 > right - h]
        above = [y for y in across if hit.cy - 2.5 * h < y < hit.cy]
        below = [y for y in across if hit.cy < y < hit.cy + 2.5 * h]
        cell = (int(x0), int(max(above) if above else hit.y0 - 0.4 * h), int(right),
                int(min(below) if below else hit.y1 + 0.4 * h))
        self._reread_amount_cell(cell, h)

    def _reread_amount_cell(self, cell: BBox, h: float) -> None:
        # The form prints a "$" at the cell's left: only ink right of it is an amount (an
        # empty limit cell is no reason for another tesseract call), and only that is cut
        # out, since a "$" read with the amount is a digit to a digits-only read ("$500000"
        # read "8500000", accepted at 0.83 on a 150-dpi scan).
        signs = [w.x1 for w in self.layout.words_in(*cell) if w.text in ("$", "S", "s")]
        after = max(signs, default=None)
        if after is None:
            after = printed_sign_end(self.layout, cell, h)
        amount = (int(after) + 2 - INSET, *cell[1:])
        if cell_has_ink(self.layout, amount):
            self.col.rereads.append(Reread(self.layout.page.number, amount, MONEY_CHARS))

    def enter(self, section: Section) -> None:
        """The section about to be read (its option boxes are found by their place)."""
        self.section = section
        self._slots = {}

    def option_hits(self, lid: str, y0: float, y1: float, col: str = "H_TYPE"
                    ) -> list[LabelHit]:
        """Where option ``lid`` is printed: its label as read, else (a garbled label in the
        TYPE column) the words beside the box in its place in the form."""
        x0, x1 = self.grid.cols.get(col, (0, self.layout.page.width))
        hits = [h for h in hits_between(self.layout, lid, y0, y1) if x0 - 5 <= h.cx <= x1 + 5]
        sec = self.section
        if sec is None or self.layout.page.source != "ocr":
            return hits
        if col not in self._slots:
            self._slots[col] = option_slots(self.layout, sec.kind, col, (x0, sec.y0, x1, sec.y1))
        slots = self._slots[col]
        # A label read beside another option's box is a misreading of that option's.
        hits = [h for h in hits if beside_own(slots, lid, h)]
        if hits:
            return hits
        box = slots.get(lid)
        if box is None or not y0 <= (box.bbox[1] + box.bbox[3]) / 2 <= y1:
            return []
        # The box stands for its label: where the option is printed, with no words read.
        return [place_hit(lid, [], box.bbox, self.layout.page.number)]

    def checked(self, lid: str, y0: float, y1: float, *, col: str = "H_TYPE"
                ) -> tuple[bool, float, LabelHit | None]:
        """Is the box of option ``lid`` (printed in column ``col``) checked?"""
        hits = self.option_hits(lid, y0, y1, col)
        if not hits:
            return False, 0.0, None
        if hits[0].edits == PLACE_EDITS:
            # Named by its place, its label unread: as sure as its ink, a little less.
            box = self._slots[col][lid]
            val, conf = judge_box(box)
            return val, conf * 0.9, hits[0]
        val, conf, _, _ = is_checked(self.layout, hits[0])
        return val, conf, hits[0]

    def orphan_checks(self, y0: float, y1: float, options: dict[str, str]) -> bool:
        """Checked boxes in the TYPE column with none of the section's option labels beside
        them (OCR lost the label).  Each is sent to be read again; True when any remain."""
        x0, x1 = self.grid.cols.get("H_TYPE", (0, 0))
        # Only the label each option is read from can claim a box: a second "OWNED" hit is
        # the tail of "NON-OWNED" whose "NON-" OCR lost, and its box is not OWNED's.
        hits = [found[0] for lid in options if (found := self.option_hits(lid, y0, y1))]
        orphan = False
        for b in self.layout.page.boxes:
            bx0, by0, bx1, by1 = b.bbox
            if b.fill < 0.2 or not (x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1):
                continue
            bh = by1 - by0
            # The label starts beside the box: its first line level with it.
            claimed = any(h.bbox == b.bbox or  # a box standing for its garbled label
                          bx1 - 5 <= h.x0 <= bx1 + 3 * bh and by0 - 0.6 * bh <= h.y0 <= by1
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
