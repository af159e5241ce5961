"""A reviewer's decision on one field, and the fields grouped as on the form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from extractors.normalize import typed_parser_for
from models.store import FieldInfo, NotFoundError, apply_correction, get_field
from pipeline.types import PAGE_DPI

# Sections in form order: (title, path prefix).  Policies get one section each.
SECTIONS = (("Certificate", "certificate_date"), ("Producer", "producer."),
            ("Insured", "insured."), ("Insurers", "insurers."), ("Policies", "policies."),
            ("Certificate holder", "certificate_holder."),
            ("Description of operations", "description_of_operations"))


@dataclass
class CorrectionError(Exception):
    status: int
    message: str


def shown(value: Any) -> str:
    """A stored value as a reviewer types it: lists comma-separated, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def normalize(path: str, typed: str | None, current: Any = None) -> Any:
    """A typed value as extraction would have stored it (a date typed 3/4/26 becomes
    2026-03-04; a list, such as a policy's autos, comma-separated; a check box yes or no);
    CorrectionError when it cannot be one."""
    text = (typed or "").strip()
    if text == "":
        return None  # a reviewer clearing a value the certificate does not have
    parse = typed_parser_for(path)
    if parse is None:
        if isinstance(current, list):
            return [part.strip() for part in text.split(",") if part.strip()]
        if text.lower() in ("true", "yes", "y", "x"):
            return True
        if text.lower() in ("false", "no", "n"):
            return False
        if isinstance(current, bool):
            raise CorrectionError(422, f"{text!r}: {path} is yes or no")
        return text
    value, _conf = parse(text)
    if value is None:
        raise CorrectionError(422, f"{text!r} is not a valid value for {path}")
    return value


def decide(engine: Engine, cert_id: int, path: str, action: str, typed: str | None,
           version: int | None, user: str) -> FieldInfo:
    if action not in ("confirm", "correct"):
        raise CorrectionError(422, f"action must be confirm or correct, not {action!r}")
    known = get_field(engine, cert_id, path)
    value = normalize(path, typed, known.value if known else None) \
        if action == "correct" else None
    try:
        return apply_correction(engine, cert_id, path, value, user=user,
                                expected_version=version,
                                status="corrected" if action == "correct" else "confirmed")
    except NotFoundError as exc:
        raise CorrectionError(404, str(exc)) from None
    except ValueError as exc:
        raise CorrectionError(422, str(exc)) from None


def group_fields(fields: list[FieldInfo]) -> list[tuple[str, list[FieldInfo]]]:
    """Fields in sections as on the form; each policy its own section."""
    groups: dict[str, list[FieldInfo]] = {}
    order: list[str] = []
    for f in sorted(fields, key=lambda f: f.id):
        title = next((t for t, prefix in SECTIONS if f.path.startswith(prefix)), "Other")
        if title == "Policies":
            title = "Policy: " + f.path.split(".")[1].replace("_", " ")
        if title not in groups:
            groups[title] = []
            order.append(title)
        groups[title].append(f)
    rank = {t: i for i, (t, _p) in enumerate(SECTIONS)}

    def key(title: str) -> tuple[int, int]:
        base = "Policies" if title.startswith("Policy: ") else title
        return rank.get(base, len(SECTIONS)), order.index(title)

    return [(t, groups[t]) for t in sorted(order, key=key)]


def page_boxes(pages: list[tuple[int, int]], fields: list[FieldInfo]
               ) -> list[dict[str, Any]]:
    """Per stored page image: its size and every field box on it, scaled from PAGE_DPI to
    the image's dpi (fields with no box, such as a value a reviewer added, have none)."""
    out = []
    for page, dpi in pages:
        k = dpi / PAGE_DPI
        boxes = [{"path": f.path, "status": f.status,
                  "left": round(f.bbox[0] * k), "top": round(f.bbox[1] * k),
                  "width": max(2, round((f.bbox[2] - f.bbox[0]) * k)),
                  "height": max(2, round((f.bbox[3] - f.bbox[1]) * k))}
                 for f in fields if f.page == page and f.bbox[2] > f.bbox[0]]
        out.append({"page": page, "dpi": dpi, "boxes": boxes})
    return out
