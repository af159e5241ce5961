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
from pipeline.reread import reread
from pipeline.sniff import sha256_file, sniff_file
from pipeline.types import DocumentResult, Extraction, PageContent
from pipeline.verify import second_read


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
        result.error = exc.message
        return result
    except OSError as exc:
        result.error = f"the file cannot be read: {exc.strerror or exc}"
        return result
    if not pages:
        result.error = "no page could be read: " + "; ".join(
            f"page {n}: {e}" for n, e in sorted(result.page_errors.items()))
        return result
    t1 = time.perf_counter()
    found = extract_all(pages)
    if alternates:
        # Faxes: keep the softening whose reading is surer overall.
        other = [alternates.get(p.number, p) for p in pages]
        alt = extract_all(other)
        chosen = FAX_SOFTEN[0]
        if _sureness(alt) > _sureness(found):
            pages, found, chosen = other, alt, FAX_SOFTEN[1]
        result.timings["fax_soften"] = chosen
    rereads = [r for ex in found for r in ex.rereads]
    if rereads:
        n = reread(pages, rereads, timeout=opts.page_timeout)
        result.timings["reread"] = round(time.perf_counter() - t1, 4)
        result.timings["reread_cells"] = n
        found = extract_all(pages, allow_rereads=False)
    t2 = time.perf_counter()
    n = second_read(pages, *found, timeout=opts.page_timeout)
    if n:
        for ex in found:
            assign_status(ex.fields)
        result.timings["verify"] = round(time.perf_counter() - t2, 4)
        result.timings["verify_fields"] = n
    result.page_kinds = {pg.number: pg.kind for pg in pages}
    result.timings["extract"] = round(time.perf_counter() - t1, 4)
    result.timings["total"] = round(time.perf_counter() - t0, 4)
    if opened.capped:
        result.page_errors[opts.max_pages + 1] = (
            f"only the first {opts.max_pages} of {opened.total_pages} pages were read")
    if not found:
        result.status = "not_a_certificate"
        result.error = "no ACORD 25 certificate of liability insurance was found in the document"
        return result
    # The printed form with nothing typed in: a record of it would be all blanks.
    filled = [ex for ex in found if any(_filled(f.value) for f in ex.fields.values())]
    if not filled:
        result.status = "not_a_certificate"
        result.error = ("a blank ACORD 25 form: nothing typed on it could be read (no producer, "
                        "insured, insurer or policy)")
        return result
    result.status = "processed"
    result.extractions = filled
    return result


def _filled(value: object) -> bool:
    return value not in (None, "", [], {})


def _sureness(found: list[Extraction]) -> float:
    return sum(f.confidence for ex in found for f in ex.fields.values())


# A fax page (1-bit) is read twice, softened by a 3 and a 5 pixel Gaussian after upscaling,
# and the document keeps the reading with the larger sum of field confidences.  Neither
# kernel is best on every fax (a fax's stroke weight varies with the sender's contrast
# setting); on 18 faxes of seeds 5813, 9901 and 7301 the choice read 78.9 % of fields
# right, against 72.8 % for the 3 px kernel alone and 74.4 % for the 5 px one, for twice
# the OCR time on fax pages only.
FAX_SOFTEN = (3, 5)


def _read_pages(sources, result: DocumentResult, opts: Options
                ) -> tuple[list[PageContent], dict[int, PageContent]]:
    pages: list[PageContent] = []
    alternates: dict[int, PageContent] = {}
    for src in sources:
        if src.error:
            result.page_errors[src.number] = src.error
            continue
        t = time.perf_counter()
        try:
            if src.words is not None:
                page = text_page(src)
            else:
                page = scanned_page(src, timeout=opts.page_timeout, soften=FAX_SOFTEN[0])
                if src.image is not None and is_bilevel(src.image):
                    alternates[src.number] = scanned_page(
                        src, timeout=opts.page_timeout, soften=FAX_SOFTEN[1],
                        known_rotation=page.rotation)
        except InputError as exc:
            result.page_errors[src.number] = exc.message
            continue
        for step, secs in page.timings.items():
            result.timings[f"p{src.number}.{step}"] = secs
        result.timings[f"p{src.number}"] = round(time.perf_counter() - t, 4)
        pages.append(page)
    return pages, alternates
