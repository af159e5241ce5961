"""Pages in, one certificate's fields out: the extractors' single entry point."""

from __future__ import annotations

from dataclasses import replace

from extractors import normalize as nz
from extractors.classify import classify
from extractors.fields import Collector, drop_scrawl, join_words, region_lines
from extractors.header import read_bottom, read_header
from extractors.layout import PageLayout, build_layout
from extractors.policies import read_coverages
from extractors.policydates import fill_dates
from extractors.register import shift_typed, typed_offset
from extractors.skeleton import find_skeleton
from extractors.validate import assign_status, cross_check, plausibility
from pipeline.periods import closing_stop
from pipeline.record import field_family
from pipeline.types import Extraction, PageContent


def layouts(pages: list[PageContent]) -> list[PageLayout]:
    """Build each page's layout and set its kind."""
    out = []
    for page in pages:
        layout = build_layout(page)
        page.kind = classify(layout)  # type: ignore[assignment]
        if page.kind == "acord25":
            off = typed_offset(layout)
            if off is not None:
                # A misprint: read the values as if typed where the form meant them.
                layout = build_layout(shift_typed(layout, off))
                layout.page.kind = page.kind
        out.append(layout)
    return out


def remarks_lines(layout: PageLayout) -> list[str]:
    """The text of an ACORD 101's remarks box."""
    page = layout.page
    starts = [h.y1 for lid in ("REMARKS_SCHEDULE_TO", "REMARKS", "REMARKS_TITLE")
              for h in layout.all(lid)]
    if not starts:
        return []
    top = max(starts)
    # The "FORM TITLE: CERTIFICATE OF LIABILITY INSURANCE" line belongs to the header.
    titles = [h.y1 for h in layout.all("TITLE") if h.y0 <= top + 3 * h.height]
    top = max([top, *titles])
    feet = [h.y0 for lid in ("FORM_ACORD101", "COPYRIGHT") for h in layout.all(lid) if h.y0 > top]
    bottom = min(feet) if feet else page.height
    lines = drop_scrawl(region_lines(layout, 0, top + 2, page.width, bottom - 2, exclude=set()))
    texts = [join_words(line) for line in lines]
    if texts:
        texts[-1] = closing_stop(texts[-1], lines[-1][-1], page)
    return texts


def extract(pages: list[PageContent], *, allow_rereads: bool = True) -> Extraction | None:
    """Fields of the first ACORD 25 among the pages (None when there is none)."""
    found = extract_all(pages, allow_rereads=allow_rereads)
    return found[0] if found else None


def certificate_groups(lays: list[PageLayout]) -> list[list[PageLayout]]:
    """The pages of each certificate, in order: an ACORD 25 page starts one, the ACORD 101
    pages after it continue it; cover sheets and other pages belong to none.  A batch scan
    of several certificates gives several groups."""
    groups: list[list[PageLayout]] = []
    early101: list[PageLayout] = []
    for lay in lays:
        if lay.page.kind == "acord25":
            groups.append([lay])
        elif lay.page.kind == "acord101":
            (groups[-1] if groups else early101).append(lay)
    if groups and early101:
        groups[0].extend(early101)  # remarks sent ahead of their certificate
    return groups


def extract_all(pages: list[PageContent], *, allow_rereads: bool = True) -> list[Extraction]:
    """Fields of every ACORD 25 among the pages, one Extraction per certificate.

    With ``allow_rereads``, cells whose printing whole-page OCR missed are listed in each
    result's ``rereads`` for the pipeline to OCR again before a second extraction.
    """
    return [_extract_group(group, allow_rereads) for group in certificate_groups(layouts(pages))]


MISPRINT_MARK_FACTOR = 0.85


def _back_to_image(col: Collector, lays: list[PageLayout]) -> None:
    """Boxes of a misprinted page's values and cells where they are on the image: a
    reviewer is shown, and the pipeline rereads, where the value was printed."""
    offsets = {lay.page.number: lay.page.typed_offset for lay in lays}
    for f in col.fields.values():
        dx, dy = offsets.get(f.page, (0, 0))
        if (dx, dy) == (0, 0):
            continue
        if f.bbox != (0, 0, 0, 0):
            x0, y0, x1, y1 = f.bbox
            f.bbox = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        if field_family(f.path) in ("check_boxes", "addl_subr"):
            # A mark off its box is judged where the offset says it went, and a Y/N
            # column is a narrow target: less sure than a mark in its box.
            f.confidence = round(f.confidence * MISPRINT_MARK_FACTOR, 4)
    for i, r in enumerate(col.rereads):
        dx, dy = offsets.get(r.page, (0, 0))
        if (dx, dy) != (0, 0):
            x0, y0, x1, y1 = r.bbox
            col.rereads[i] = replace(r, bbox=(x0 + dx, y0 + dy, x1 + dx, y1 + dy))


def _extract_group(lays: list[PageLayout], allow_rereads: bool) -> Extraction:
    main = lays[0]
    col = Collector(page=main.page.number, allow_rereads=allow_rereads)
    sk = find_skeleton(main)
    read_header(main, sk, col)
    read_coverages(main, sk, col)
    read_bottom(main, sk, col)
    extra = [line for lay in lays if lay.page.kind == "acord101" for line in remarks_lines(lay)]
    if extra:
        desc = col.fields.get("description_of_operations")
        text = " ".join(extra)
        if desc is not None:
            desc.value = nz.clean_text(f"{desc.value} {text}")
        else:
            page101 = next(lay for lay in lays if lay.page.kind == "acord101")
            col.put("description_of_operations", nz.clean_text(text), [],
                    raw=text, ocr=min((w.conf for w in page101.page.words), default=1.0))
    fill_dates(col)
    _back_to_image(col, lays)
    cross_check(col.fields)
    plausibility(col.fields, {lay.page.number for lay in lays if lay.page.source == "ocr"})
    assign_status(col.fields)
    return Extraction(fields=col.fields, rereads=col.rereads)
