"""One file in, one DocumentResult out: sniff, open, read each page, extract.

Never raises for a bad document: an unreadable file ends as status ``failed`` with a message
a person can act on; a bad page is a page error while the other pages are read.  Only a
missing dependency (tesseract not installed) or a transient failure (a tesseract timeout)
escapes, because those are not the document's fault and a retry or a fix can succeed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from extractors.certificate import extract_all
from extractors.validate import assign_status
from pipeline.errors import InputError
from pipeline.load import open_document
from pipeline.page import scanned_page, text_page
from pipeline.preprocess import is_bilevel
from pipeline.preview import preview
from pipeline.reread import reread
from pipeline.sniff import sha256_file, sniff_file
from pipeline.types import DocumentResult, Extraction, PageContent
from pipeline.verify import second_read
from pipeline.vote import vote


@dataclass(frozen=True)
class Options:
    max_pages: int = 50
    page_timeout: float = 120.0


def process_file(path: str | Path, options: Options | None = None) -> DocumentResult:
    opts = options or Options()
    p = Path(path)
    t0 = time.perf_counter()
    result = DocumentResult(file=p.name, path=str(p), sha256="", media_type=None, pages=0,
                            status="failed")
    try:
        result.sha256 = sha256_file(p)
        result.media_type = sniff_file(p)
        opened = open_document(p, result.media_type, max_pages=opts.max_pages,
                               timeout=opts.page_timeout)
        result.pages = opened.total_pages
        pages, alternates = _read_pages(opened.pages, result, opts)
        result.timings["read"] = round(time.perf_counter() - t0, 4)
    except InputError as exc:
        result.error, result.stage = exc.message, exc.stage or "open"
        return result
    except OSError as exc:
        result.error, result.stage = f"the file cannot be read: {exc.strerror or exc}", "read"
        return result
    if not pages:
        result.stage = "read"
        result.error = "no page could be read: " + "; ".join(
            f"page {n}: {e}" for n, e in sorted(result.page_errors.items()))
        return result
    t1 = time.perf_counter()
    found = extract_all(pages)
    witnesses: list[list[Extraction]] = []
    if alternates:
        # Faxes: the surest reading is the base, the others its witnesses.
        readings = [(pages, found)]
        for i in range(len(FAX_READINGS) - 1):
            other = [alternates[p.number][i] if p.number in alternates else p for p in pages]
            readings.append((other, extract_all(other)))
        best = max(range(len(readings)), key=lambda i: _sureness(readings[i][1]))
        pages, found = readings[best]
        witnesses = [r[1] for i, r in enumerate(readings) if i != best]
        result.timings["fax_reading"] = best
    rereads = [r for ex in found for r in ex.rereads]
    if rereads:
        n = reread(pages, rereads, timeout=opts.page_timeout)
        result.timings["reread"] = round(time.perf_counter() - t1, 4)
        result.timings["reread_cells"] = n
        found = extract_all(pages, allow_rereads=False)
    t2 = time.perf_counter()
    n = second_read(pages, *found, timeout=opts.page_timeout)
    voted = bool(witnesses) and all(len(w) == len(found) for w in witnesses)
    if voted:
        for i, ex in enumerate(found):
            vote(ex, [w[i] for w in witnesses])
    if n or voted:  # confidences changed: the statuses follow
        for ex in found:
            assign_status(ex.fields)
        result.timings["verify"] = round(time.perf_counter() - t2, 4)
        result.timings["verify_fields"] = n
    result.page_kinds = {pg.number: pg.kind for pg in pages}
    result.timings["extract"] = round(time.perf_counter() - t1, 4)
    result.timings["total"] = round(time.perf_counter() - t0, 4)
    cap = ""
    if opened.capped:
        cap = f"only the first {opts.max_pages} of {opened.total_pages} pages were read"
        result.page_errors[opts.max_pages + 1] = cap
        cap = f" ({cap}; COI_MAX_PAGES raises the limit)"
    if not found:
        result.status, result.stage = "not_a_certificate", "classify"
        result.error = ("no ACORD 25 certificate of liability insurance was found in the "
                        "document" + cap)
        return result
    # The printed form with nothing typed in: a record of it would be all blanks.
    filled = [ex for ex in found if any(_filled(f.value) for f in ex.fields.values())]
    if not filled:
        result.status, result.stage = "not_a_certificate", "extract"
        result.error = ("a blank ACORD 25 form: nothing typed on it could be read (no producer, "
                        "insured, insurer or policy)")
        return result
    result.status = "processed"
    result.extractions = filled
    if cap:  # said on the document, so that nobody takes the record for the whole file
        result.error = cap.strip(" ()")
    return result


def _filled(value: object) -> bool:
    return value not in (None, "", [], {})


def _sureness(found: list[Extraction]) -> float:
    return sum(f.confidence for ex in found for f in ex.fields.values())


# A fax page (1-bit) is read three times: softened by a 3 and a 5 pixel Gaussian after
# upscaling, and thickened by a pixel (at the fax's own resolution) before the 5 pixel one.
# A fax's stroke weight varies with the sender's contrast setting, and none of the three is
# best on every fax.  The surest reading is the base, the fields put to a vote of all three
# (pipeline/vote.py).  On 19 faxes of seeds 4401, 4402 and 6301 this read 84.9 % of fields
# right with 21.7 % for review, against 82.2 % and 27.5 % for the surer of the first two
# alone; 1.5 times the OCR time of two readings, on fax pages only.
FAX_READINGS = ((3, False), (5, False), (5, True))  # (soften kernel, thicken)


def _read_pages(sources, result: DocumentResult, opts: Options
                ) -> tuple[list[PageContent], dict[int, list[PageContent]]]:
    pages: list[PageContent] = []
    alternates: dict[int, list[PageContent]] = {}
    for src in sources:
        if src.error:
            result.page_errors[src.number] = src.error
            continue
        t = time.perf_counter()
        try:
            if src.words is not None:
                page = text_page(src)
            else:
                page = scanned_page(src, timeout=opts.page_timeout, soften=FAX_READINGS[0][0])
                if src.image is not None and is_bilevel(src.image):
                    alternates[src.number] = [scanned_page(
                        src, timeout=opts.page_timeout, soften=k, thicken=thick,
                        known_rotation=page.rotation) for k, thick in FAX_READINGS[1:]]
        except InputError as exc:
            result.page_errors[src.number] = exc.message
            continue
        shown = preview(page, src.render)
        if shown is not None:
            result.previews[src.number] = shown
        for step, secs in page.timings.items():
            result.timings[f"p{src.number}.{step}"] = secs
        result.timings[f"p{src.number}"] = round(time.perf_counter() - t, 4)
        pages.append(page)
    return pages, alternates
