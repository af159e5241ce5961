"""What the compliance commands and the dashboard show, as plain rows.

Everything here only reads: vendors are evaluated as of the day asked (today by default)
from the stored certificates and matches, so a report is never a day stale even when the
daily schedule has not run yet.  Recording statuses and notifying is ``service.refresh``'s job.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from coi.settings import Settings
from compliance.evaluate import CertView, Evaluation, parse_date, phase
from compliance.registry import find_vendor
from compliance.service import (
    evaluate_vendor,
    field_values,
    profiles_or_error,
    today,
    vendor_inputs,
)
from models.db import read_only
from models.orm import Certificate, Document, as_utc
from models.orm_vendors import Vendor, VendorMatch
from pipeline.record import parse_policy_key

STATUS_ORDER = ("expired", "deficient", "pending_review", "expiring", "missing", "compliant")


class ReportError(ValueError):
    """The report cannot be made (profiles unreadable); the message says why."""


def _profiles(settings: Settings) -> dict[str, Any]:
    profiles, error = profiles_or_error(settings)
    if error:
        raise ReportError(error)
    return profiles


def _date(v: Any) -> str | None:
    return str(v) if v else None


def _policy_rows(view: CertView, keys: list[str]) -> list[dict[str, Any]]:
    v = view.values
    out = []
    for key in keys:
        base = f"policies.{key}"
        letter = v.get(f"{base}.insurer")
        out.append({
            "line": parse_policy_key(key)[0], "key": key,
            "description": v.get(f"{base}.description"),
            "insurer": letter,
            "carrier": v.get(f"insurers.{letter}.name") if letter else None,
            "naic": v.get(f"insurers.{letter}.naic") if letter else None,
            "policy_number": v.get(f"{base}.policy_number"),
            "effective_date": _date(v.get(f"{base}.effective_date")),
            "expiration_date": _date(v.get(f"{base}.expiration_date")),
            "additional_insured": v.get(f"{base}.additional_insured"),
            "subrogation_waived": v.get(f"{base}.subrogation_waived"),
            "producer": {k: v.get(f"producer.{k}") for k in ("name", "contact", "phone",
                                                             "email")},
            "certificate_id": view.certificate_id, "insured": v.get("insured.name"),
        })
    return out


def current_policies(views: list[CertView], on: dt.date | None = None
                     ) -> list[dict[str, Any]]:
    """Per line, who to call: the policies in force on ``on`` (else the renewals, else the
    expired ones) of the newest certificate that has such a policy of the line."""
    day = on or today()
    found: dict[str, list[tuple[CertView, str]]] = {}
    for view in sorted(views, key=CertView.order, reverse=True):
        for key in sorted({p.split(".")[1] for p in view.values if p.startswith("policies.")}):
            found.setdefault(parse_policy_key(key)[0], []).append((view, key))
    rows = []
    for items in found.values():
        for wanted in ("in_force", "future", "past"):
            group = [(v, k) for v, k in items if phase(v, k, day) == wanted]
            if group:
                newest = group[0][0]
                rows.extend(_policy_rows(newest, [k for v, k in group if v is newest]))
                break
    return sorted(rows, key=lambda r: (r["line"], r["key"]))


def _next_expiration(views: list[CertView], ev: Evaluation) -> str | None:
    by_id = {v.certificate_id: v for v in views}
    dates = [parse_date(by_id[cid].values.get(f"policies.{key}.expiration_date"))
             for cid, key in ev.chosen.values() if cid in by_id]
    found = [d for d in dates if d is not None]
    return min(found).isoformat() if found else None


def vendor_rows(engine: Engine, settings: Settings,
                on: dt.date | None = None) -> list[dict[str, Any]]:
    """One row per vendor: status and reasons as of ``on``; most serious first."""
    profiles = _profiles(settings)
    day = on or today()
    rows = []
    with Session(read_only(engine)) as s, s.begin():
        inputs = vendor_inputs(s)
        for vendor in s.scalars(select(Vendor).order_by(Vendor.name)):
            views = inputs.get(vendor.id, ([], []))[0]
            ev = evaluate_vendor(s, vendor, profiles, day, inputs)
            rows.append({
                "id": vendor.id, "vendor": vendor.name, "profile": vendor.profile,
                "status": ev.status, "reasons": [r.message for r in ev.reasons],
                "certificates": len(views), "next_expiration": _next_expiration(views, ev),
                "as_of": day.isoformat(),
            })
    return sorted(rows, key=lambda r: (STATUS_ORDER.index(r["status"]), r["vendor"]))


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {status: sum(r["status"] == status for r in rows) for status in STATUS_ORDER}


def expiring_rows(engine: Engine, days: int, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Policies in force that end within ``days``: of each vendor's newest certificate per
    line, and of certificates attached to no vendor (vendor None; ``match`` says whether a
    reviewer is to decide one).  A date that is not a date (an unreviewed misreading) keeps
    its policy out: it is in the review queue, not on this list."""
    day = on or today()
    until = day + dt.timedelta(days=days)
    out = []
    with Session(read_only(engine)) as s, s.begin():
        inputs = vendor_inputs(s)
        groups: list[tuple[str | None, str, list[CertView]]] = [
            (v.name, "attached", inputs.get(v.id, ([], []))[0])
            for v in s.scalars(select(Vendor).order_by(Vendor.name))
        ]
        groups.extend((None, state, [view]) for view, state in _unattached_views(s))
        for vendor, state, views in groups:
            for p in current_policies(views, day):
                end, start = parse_date(p["expiration_date"]), parse_date(p["effective_date"])
                if end is not None and day < end <= until and (start is None or start <= day):
                    out.append({"vendor": vendor, "match": state, **p,
                                "days_left": (end - day).days})
    return sorted(out, key=lambda r: (r["days_left"], r["vendor"] or "", r["line"]))


def _unattached_views(s: Session) -> list[tuple[CertView, str]]:
    rows = s.execute(
        select(Certificate.id, Certificate.certificate_date, Document.created_at,
               VendorMatch.state)
        .join(Document, Document.id == Certificate.document_id)
        .outerjoin(VendorMatch, VendorMatch.certificate_id == Certificate.id)
        .where(Document.status == "processed")
        # A certificate a reviewer said is no vendor's is left out.
        .where((VendorMatch.state.is_(None)) |
               (VendorMatch.state.not_in(("attached", "rejected"))))
    ).all()
    values = field_values(s, [cid for cid, *_ in rows])
    return [(CertView(cid, date, received, *values[cid]), state or "unmatched")
            for cid, date, received, state in rows]


def vendor_detail(engine: Engine, settings: Settings, ref: str,
                  on: dt.date | None = None) -> dict[str, Any]:
    """Everything about one vendor: status, reasons, current carriers and contacts per line,
    and the certificate history (VendorError when there is no such vendor)."""
    profiles = _profiles(settings)
    day = on or today()
    with Session(read_only(engine)) as s, s.begin():
        vendor = find_vendor(s, ref)
        inputs = vendor_inputs(s, {vendor.id})  # loaded once, for the views and the status
        views = inputs.get(vendor.id, ([], []))[0]
        ev = evaluate_vendor(s, vendor, profiles, day, inputs)
        return {
            "id": vendor.id, "vendor": vendor.name, "profile": vendor.profile,
            "email": vendor.email, "status": ev.status, "as_of": day.isoformat(),
            "reasons": [r.as_dict() for r in ev.reasons],
            "policies": current_policies(views, day),
            "history": _history(s, vendor.id),
        }


def _history(s: Session, vendor_id: int) -> list[dict[str, Any]]:
    rows = s.execute(
        select(VendorMatch, Certificate.certificate_date, Document.file, Document.created_at,
               Certificate.id)
        .join(Certificate, Certificate.id == VendorMatch.certificate_id)
        .join(Document, Document.id == Certificate.document_id)
        .where(VendorMatch.vendor_id == vendor_id)
        .order_by(Certificate.certificate_date.desc(), Document.created_at.desc())
    ).all()
    return [{
        "certificate_id": cid, "file": file, "certificate_date": _date(date),
        "received": as_utc(received).isoformat(timespec="seconds"),
        "insured_name": m.insured_name, "state": m.state, "score": m.score,
        "decided_by": m.decided_by,
    } for m, date, file, received, cid in rows]


def review_matches(engine: Engine) -> list[dict[str, Any]]:
    """Certificates whose vendor a reviewer should decide (a likely vendor, not attached)."""
    with Session(read_only(engine)) as s, s.begin():
        rows = s.execute(
            select(VendorMatch, Vendor.name, Document.file)
            .join(Certificate, Certificate.id == VendorMatch.certificate_id)
            .join(Document, Document.id == Certificate.document_id)
            .outerjoin(Vendor, Vendor.id == VendorMatch.vendor_id)
            .where(VendorMatch.state == "review")
            .order_by(VendorMatch.certificate_id)
        ).all()
        return [{"certificate_id": m.certificate_id, "insured_name": m.insured_name,
                 "candidate": name, "candidate_id": m.vendor_id, "score": m.score,
                 "file": file}
                for m, name, file in rows]


def unmatched_count(engine: Engine) -> int:
    with Session(read_only(engine)) as s, s.begin():
        return s.scalar(select(func.count()).select_from(VendorMatch)
                        .where(VendorMatch.state == "unmatched")) or 0


def expiring_by_week(rows: list[dict[str, Any]], on: dt.date | None = None,
                     weeks: int = 13) -> list[tuple[str, int]]:
    """Counts of distinct certificates with a policy ending in each of the next ``weeks``
    weeks (the dashboard's 90-day chart), labelled by the week's first day."""
    day = on or today()
    buckets: list[set[int]] = [set() for _ in range(weeks)]
    for r in rows:
        i = (r["days_left"] - 1) // 7
        if 0 <= i < weeks:
            buckets[i].add(r["certificate_id"])
    return [((day + dt.timedelta(days=1 + 7 * i)).isoformat(), len(b))
            for i, b in enumerate(buckets)]
