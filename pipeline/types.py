"""Dataclasses that flow through the pipeline stages.

Coordinates: every box is ``(x0, y0, x1, y1)`` in pixels of the page at ``PAGE_DPI``, upright
(after any rotation the pipeline applied), origin top-left.  Words from a PDF text layer are
converted to the same space, so extractors never care where a word came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PAGE_DPI = 300

BBox = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    bbox: BBox
    conf: float  # 0..1; 1.0 for a text layer
    page: int  # 1-based page number in the source document

    @property
    def x0(self) -> int:
        return self.bbox[0]

    @property
    def y0(self) -> int:
        return self.bbox[1]

    @property
    def x1(self) -> int:
        return self.bbox[2]

    @property
    def y1(self) -> int:
        return self.bbox[3]

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]

    @property
    def cx(self) -> float:
        return (self.bbox[0] + self.bbox[2]) / 2

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2


@dataclass(frozen=True, slots=True)
class Rule:
    """A ruled line segment: horizontal when y0 == y1 (roughly), vertical when x0 == x1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def horizontal(self) -> bool:
        return abs(self.x1 - self.x0) >= abs(self.y1 - self.y0)


@dataclass(frozen=True, slots=True)
class CheckBox:
    """A check box found on a scanned page, and the share of its interior that is inked."""

    bbox: BBox
    fill: float


PageKind = Literal["acord25", "acord101", "cover", "other", "unknown"]


@dataclass
class PageContent:
    """One page as the extractors see it."""

    number: int
    width: int
    height: int
    words: list[Word]
    source: Literal["text", "ocr"]
    rules: list[Rule] = field(default_factory=list)
    boxes: list[CheckBox] = field(default_factory=list)
    kind: PageKind = "unknown"
    rotation: int = 0  # degrees clockwise the page was turned to make it upright
    skew: float = 0.0  # degrees of deskew applied
    # The cleaned upright grayscale page at PAGE_DPI (uint8, ink dark), for image checks such
    # as check boxes.  None for text-layer pages.  Never persisted.
    image: Any = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    # A 1-bit page (a fax): OCR'd with the standard model, its value cells read again alone.
    bilevel: bool = False
    # How far (pixels right, down) the typed values sit from their cells on a misprinted
    # certificate; the extractors' copy of the page has them moved back (extractors/register.py)
    # and image checks (check marks, ink, cell rereads) look this far off.
    typed_offset: tuple[int, int] = (0, 0)


@dataclass
class FieldValue:
    """One extracted value with where it was read and how sure we are."""

    path: str
    value: Any
    confidence: float
    page: int
    bbox: BBox
    status: str = "needs_review"  # accepted | needs_review | confirmed | corrected
    raw: str = ""  # the text the value was read from
    notes: list[str] = field(default_factory=list)  # validation findings, for reviewers


@dataclass(frozen=True, slots=True)
class Reread:
    """A cell the extractor wants OCR'd again, on its own (whole-page OCR drops lone
    characters such as an insurer letter or a Y in a narrow column)."""

    page: int
    bbox: BBox
    charset: str = ""  # characters the cell can hold; "" for any text


@dataclass
class Extraction:
    fields: dict[str, FieldValue] = field(default_factory=dict)
    rereads: list[Reread] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        return {p: f.value for p, f in self.fields.items()}


DocStatus = Literal["processed", "failed", "not_a_certificate"]


@dataclass
class DocumentResult:
    """What the pipeline made of one input file; storage persists exactly this."""

    file: str  # the file name as given (no directories)
    path: str  # where it was read from
    sha256: str
    media_type: str | None  # application/pdf, image/tiff, image/png, image/jpeg, or None
    pages: int
    status: DocStatus
    error: str | None = None
    # Where a failure happened (sniff, open, rasterize, ocr, extract, ...); not stored, it is
    # for the quarantine's error file and the logs.
    stage: str | None = None
    # One per certificate, in page order: a batch scan holds several.
    extractions: list[Extraction] = field(default_factory=list)
    page_errors: dict[int, str] = field(default_factory=dict)
    page_kinds: dict[int, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    # Each page read, as a small JPEG for the review page (pipeline/preview.py).
    previews: dict[int, bytes] = field(default_factory=dict)

    @property
    def extraction(self) -> Extraction | None:
        """The first certificate's fields (the only one's, in all but batch scans)."""
        return self.extractions[0] if self.extractions else None
