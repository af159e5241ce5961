"""The form's skeleton: its box labels, chosen in the order the form prints them.

The same words recur in the disclaimers and in typed values ("... the certificate holder is an
ADDITIONAL INSURED ..."), so an anchor must be printed as a heading (standalone) and come in
the form's order: PRODUCER above INSURED above COVERAGES above the grid above DESCRIPTION
above CERTIFICATE HOLDER.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

from rapidfuzz import fuzz, process

from extractors.layout import LabelHit, PageLayout, place_hit
from extractors.patterns import norm

LETTERS = "ABCDEF"
RIGHT_LABELS = ("CONTACT", "PHONE", "EMAIL", "INSURERS_HEADER", "INSURER_A", "INSURER_B")


@dataclass
class Skeleton:
    producer: LabelHit | None = None
    insured: LabelHit | None = None
    coverages: LabelHit | None = None
    date: LabelHit | None = None
    split_x: float | None = None  # left edge of the right-hand column of the top part
    right: dict[str, LabelHit] = field(default_factory=dict)  # CONTACT, PHONE, FAX, ...
    insurers: dict[str, LabelHit] = field(default_factory=dict)  # letter -> "INSURER X :"
    naic: LabelHit | None = None
    description: LabelHit | None = None
    holder: LabelHit | None = None
    cancellation: LabelHit | None = None
    foot_y: float | None = None  # the footer line (ACORD 25 (2016/03), copyright)
    top_end: float = 0.0  # bottom of the top part: where the coverages bar starts


def snap_left(layout: PageLayout, x: float) -> float:
    """The ruled line just left of x, when there is one close by."""
    near = [r.x0 for r in layout.vrules if x - 60 <= r.x0 <= x + 5]
    return max(near) if near else x - 10


def _split_by_rules(layout: PageLayout, y0: float, y1: float) -> float | None:
    """No label of the right-hand column read (a fax's 6-point labels all garbled): the
    top part's two columns are parted by a ruled line down its middle, broken into pieces
    on a fax.  The x where vertical rules cover the most of the top part, when they cover
    at least a third of it.  Without it the producer and insured were not read at all."""
    width, span = layout.page.width, y1 - y0
    pieces = sorted((r.x0, min(r.y1, y1) - max(r.y0, y0)) for r in layout.vrules
                    if 0.3 * width < r.x0 < 0.7 * width and min(r.y1, y1) > max(r.y0, y0))
    groups: list[list[tuple[float, float]]] = []
    for x, length in pieces:
        if groups and x - groups[-1][-1][0] <= 8:
            groups[-1].append((x, length))
        else:
            groups.append([(x, length)])
    best = max(groups, key=lambda g: sum(n for _, n in g), default=None)
    if best is None or sum(n for _, n in best) < span / 3:
        return None
    return min(x for x, _ in best)


def _producer_by_place(layout: PageLayout, sk: Skeleton) -> LabelHit | None:
    """PRODUCER garbled past matching ("ROM CTR"): the box title is the short first line
    at the top left of the box, level with the first label of the contact column."""
    assert sk.split_x is not None and sk.insured is not None
    firsts = [h for lid in ("CONTACT", "PHONE") if (h := sk.right.get(lid)) is not None]
    if not firsts:
        return None
    first = min(firsts, key=lambda h: h.y0)
    h = first.height
    # The title sits in the box's top left corner, at most a line above CONTACT NAME's
    # row, which is the row above PHONE.
    if first.id == "PHONE":
        y0, y1 = first.y0 - 5 * h, first.y0 - 0.5 * h
    else:
        y0, y1 = first.y0 - 2.5 * h, first.y1 + 0.5 * h
    for row in layout.rows:
        words = [w for w in row if w.x1 < sk.split_x and y0 <= w.cy <= y1]
        # At the box's left edge, like INSURED below it (a garbled title may lose its "P").
        if not words or abs(min(w.x0 for w in words) - sk.insured.x0) > 4 * h:
            continue
        text = "".join(w.text for w in words)
        if len(words) <= 2 and 3 <= len(text) <= 12 and text.isupper() or \
                fuzz.ratio(norm(text), "producer") >= 55:
            return place_hit("PRODUCER", sorted(words, key=lambda w: w.x0), (0, 0, 0, 0),
                             layout.page.number)
    return None


def _insurers_by_place(layout: PageLayout, sk: Skeleton) -> None:
    """INSURER B garbled past matching: the form prints insurers A to F in consecutive ruled
    rows, so a missing letter's row is counted from the letters that were read; the label is
    whatever was read where the read label is printed (or nothing: the row itself stands
    for it)."""
    first = min(sk.insurers)
    ref = sk.insurers[first]
    h = ref.height
    x0, x1 = ref.x0, ref.x1
    # Rules from above row A (a row is about three label heights; rows above A only
    # shift every row's index alike) down to the coverages bar.
    above = (LETTERS.index(first) + 2) * 4 * h
    ys = sorted(r.y0 for r in layout.hrules
                if r.x0 <= x0 + h and r.x1 >= x1 + 5 * h and ref.y0 - above < r.y0 < sk.top_end)
    cuts: list[float] = []
    for y in ys:
        if not cuts or y - cuts[-1] > 0.8 * h:
            cuts.append(y)
    rows = list(zip(cuts, cuts[1:], strict=False))

    def row_of(hit: LabelHit) -> int | None:
        return next((i for i, (a, b) in enumerate(rows) if a <= hit.cy <= b), None)

    # A lost rule merges two rows, and every row counted past it is one off: the rows
    # must be even (a fax's header rows above A may be taller, so only from A's down).
    heights = [b - a for a, b in rows]

    # Each letter read says where row A is; the most letters agreeing, then the closest
    # spellings, win.  A letter read in another letter's row of those six is dropped (a
    # fax's "INSURER F" read "INSMERERE", taken for E, had made every other letter
    # unplaceable); one read anywhere else, or labels read equally well that disagree,
    # say these rows are not the form's A to F.
    starts: dict[int, list[str]] = {}
    for letter, hit in sk.insurers.items():
        if (n := row_of(hit)) is not None:
            starts.setdefault(n - LETTERS.index(letter), []).append(letter)
    ranked = sorted(((len(v), -sum(sk.insurers[k].edits for k in v), n)
                     for n, v in starts.items()), reverse=True)
    if not ranked or len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]:
        return
    start = ranked[0][2]
    agree = starts[start]
    six = heights[max(0, start):start + len(LETTERS)]
    if not six or max(six) > 1.4 * min(six):
        return
    drop = [k for k in sk.insurers if k not in agree]
    for letter in drop:
        n = row_of(sk.insurers[letter])
        if n is None or not 0 <= n - start < len(LETTERS):
            return
    for letter in drop:
        del sk.insurers[letter]
    # Placed labels take the size of a letter that stands, not of one dropped.
    ref = sk.insurers[min(agree)]
    x0, x1, h = ref.x0, ref.x1, ref.height
    for i, letter in enumerate(LETTERS):
        n = start + i
        if letter in sk.insurers or not 0 <= n < len(rows):
            continue
        a, b = rows[n]
        # The label's garbled letter may end at the read label's end ("RB" for B, "A");
        # a typed name starts a gap further right.
        words = [w for w in layout.page.words
                 if a < w.cy < b and x0 - h <= w.x0 and (
                     w.x0 < x1 - 0.3 * h or w.x0 < x1 + 0.2 * h and len(w.text) <= 2)]
        cy = (a + b) / 2
        sk.insurers[letter] = place_hit(f"INSURER_{letter}", words,
                                        (x0, int(cy - h / 2), x1, int(cy + h / 2)),
                                        layout.page.number)


def _holder_by_place(layout: PageLayout, cancel: LabelHit, left: LabelHit | None
                     ) -> LabelHit:
    """CERTIFICATE HOLDER garbled ("CERTIFI ATETOLDER"): its box is the one left of
    CANCELLATION, its title level with that one at the form's left edge.  Without it the
    holder's name and address were read into the description above."""
    h = cancel.height
    x0 = left.x0 if left is not None else 0
    words = [w for w in layout.page.words if abs(w.cy - cancel.cy) < 1.5 * h
             and x0 - 2 * h < w.x0 < x0 + 12 * h and w.x1 < cancel.x0 - h]
    # With nothing read there, the place stands for the title.
    return place_hit("CERT_HOLDER", sorted(words, key=lambda w: (w.y0, w.x0)),
                     (int(x0), cancel.y0, int(x0) + 4 * h, cancel.y1), layout.page.number)


# The words of "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES (ACORD 101, Additional
# Remarks Schedule, may be attached if more space is required)", and those only the title
# prints (a description's text may well say "additional insured ... operations").
_DESC_WORDS = ("description", "operations", "locations", "vehicles", "acord", "additional",
               "remarks", "schedule", "attached", "required")
_DESC_ONLY = frozenset(("locations", "vehicles", "acord", "remarks", "schedule"))


def _description_by_words(layout: PageLayout, y0: float, y1: float) -> LabelHit | None:
    """The description box's title garbled past matching ("DESCRIPTION JF OPERATIONS",
    "DEM RIPEON OF OFERAUONS LOC VTHIONS VEHI LES VCORD"): the first row below COVERAGES
    that reads like it: three of its words or more, one of them one only the title has,
    and two such, or print smaller than the next row's.  Without it the description was
    not read at all.  The hit is the matched words (a word OCR boxed across two lines is
    not the title's)."""
    rows = [r for r in layout.rows if y0 <= sum(w.cy for w in r) / len(r) <= y1]
    for i, row in enumerate(rows):
        hits = [(w, m[0]) for w in row if len(t := norm(w.text)) >= 4
                and (m := process.extractOne(t, _DESC_WORDS, scorer=fuzz.ratio,
                                             score_cutoff=70))]
        matched = [w for w, _ in hits]
        found = {word for _, word in hits}
        if len(found) < 3 or not found & _DESC_ONLY:
            continue
        # A typed line saying "... operations at all locations" is no title: the title
        # has two of its own words, or is printed smaller than the row below it.
        small = i + 1 < len(rows) and median(w.height for w in matched) <= 0.85 * median(
            w.height for w in rows[i + 1])
        if len(found & _DESC_ONLY) < 2 and not small:
            continue
        return place_hit("DESCRIPTION", matched, (0, 0, 0, 0), layout.page.number)
    return None


def find_skeleton(layout: PageLayout) -> Skeleton:
    sk = Skeleton()
    page = layout.page
    sk.producer = layout.anchor("PRODUCER", alone=True)
    top = sk.producer.y0 - 0.5 * sk.producer.height if sk.producer else 0
    cov_guess = page.height
    covs = layout.anchors("COVERAGES", top)
    if covs:
        cov_guess = covs[0].y0
    right_hits = [h for lid in RIGHT_LABELS for h in layout.anchors(lid, top, cov_guess)
                  if sk.producer is None or h.x0 > sk.producer.x1]
    if right_hits:
        sk.split_x = snap_left(layout, min(h.x0 for h in right_hits))
    elif sk.producer is not None:
        # COVERAGES unread too: the top part is well within a quarter of the page, and
        # the grid's column rules below must not outvote its middle rule.
        sk.split_x = _split_by_rules(layout, top, min(cov_guess, top + 0.25 * page.height))
    y_after_producer = sk.producer.y1 if sk.producer else top
    for h in layout.anchors("INSURED", y_after_producer, cov_guess, alone=True):
        if sk.split_x is None or h.x1 < sk.split_x:
            sk.insured = h
            break
    sk.coverages = layout.anchor("COVERAGES", sk.insured.y1 if sk.insured else top)
    sk.top_end = sk.coverages.y0 - 2 if sk.coverages else cov_guess
    dates = layout.anchors("DATE", -1, sk.producer.y0 if sk.producer else page.height / 3)
    sk.date = dates[0] if dates else layout.first("DATE")
    if sk.split_x is not None:
        for lid in ("PHONE", "CONTACT", "FAX", "EMAIL", "INSURERS_HEADER"):
            hits = [h for h in layout.all(lid)
                    if h.x0 >= sk.split_x - 10 and top <= h.cy <= sk.top_end]
            if lid == "CONTACT" and "PHONE" in sk.right:
                # The row above PHONE: "CONTRACT" in the disclaimer is no contact label.
                ph = sk.right["PHONE"]
                hits = [h for h in hits if ph.y0 - 3.5 * ph.height <= h.cy <= ph.y0]
            if hits:
                sk.right[lid] = hits[0]
        if sk.producer is None and sk.insured is not None:
            sk.producer = _producer_by_place(layout, sk)
        # Fuzzy look-alikes abound here ("(AIC," for NAIC, "INSURER(S)" for INSURER A):
        # the closest spelling wins, then the highest.
        naic = [h for h in layout.all("NAIC") if h.x0 >= sk.split_x and top <= h.cy <= sk.top_end]
        sk.naic = min(naic, key=lambda h: (h.edits, h.y0)) if naic else None
        for letter in LETTERS:
            hits = [h for h in layout.anchors(f"INSURER_{letter}", top, sk.top_end)
                    if h.x0 >= sk.split_x - 10]
            if hits:
                sk.insurers[letter] = min(hits, key=lambda h: (h.edits, h.y0))
        if 0 < len(sk.insurers) < len(LETTERS):
            _insurers_by_place(layout, sk)
    grid_top = sk.coverages.y1 if sk.coverages else sk.top_end
    # The holder's box title stands alone; the description box's title is the last
    # "DESCRIPTION OF OPERATIONS" above it (the workers compensation row says "describe
    # under DESCRIPTION OF OPERATIONS below").
    holders = layout.anchors("CERT_HOLDER", grid_top, alone=True)
    holder_y = holders[-1].y0 if holders else page.height
    descs = layout.anchors("DESCRIPTION", grid_top, holder_y)
    sk.description = descs[-1] if descs else _description_by_words(layout, grid_top, holder_y)
    below_desc = sk.description.y1 if sk.description else grid_top
    sk.holder = layout.anchor("CERT_HOLDER", below_desc, alone=True)
    sk.cancellation = layout.anchor("CANCELLATION", below_desc, alone=True)
    if sk.holder is None and sk.cancellation is not None:
        sk.holder = _holder_by_place(layout, sk.cancellation, sk.insured or sk.description)
    below_holder = sk.holder.y1 if sk.holder else below_desc
    feet = [h.y0 for lid in ("COPYRIGHT", "FORM_ACORD25") for h in layout.all(lid)
            if h.y0 > below_holder]
    sk.foot_y = min(feet) if feet else None
    return sk
