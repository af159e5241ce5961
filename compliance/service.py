"""The database side of compliance: match certificates to vendors, evaluate every vendor,
record status changes and queue their notices.

:func:`refresh` is the one entry point the ingest flow, the review page, the daily schedule
and the vendor commands call.  It runs in one write transaction (SQLite: BEGIN IMMEDIATE), so
two processes refreshing at once queue behind each other and a status change is recorded,
and notified, once.  Sending the notices is separate (:func:`compliance.notify.deliver`): no
transaction is ever held open over the network.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from coi.settings import Settings
from compliance.evaluate import TRUSTED, CertView, Evaluation, Reason, evaluate
from compliance.match import match
from compliance.notify import queue_notices
from compliance.profiles import Profile, ProfileError, load_profiles
from models.db import make_engine
from models.orm import Certificate, Document, Field, utcnow
from models.orm_vendors import Vendor, VendorMatch, VendorStatus

log = logging.getLogger("coi.compliance")


@dataclass
class Change:
    vendor: str
    previous: str | None
    status: str
    previous_alert: str | None = None


@dataclass
class RefreshReport:
    vendors: int = 0
    matched: int = 0  # certificates whose match changed
    changes: list[Change] = field(default_factory=list)
    notices: int = 0
    error: str | None = None  # the profiles could not be loaded: nothing was evaluated
    warnings: list[str] = field(default_factory=list)


def today() -> dt.date:
    # Local date: "expires today" means the user's today.
    return dt.date.today()


def profiles_or_error(settings: Settings) -> tuple[dict[str, Profile], str | None]:
    try:
        return load_profiles(Path(settings.requirements)), None
    except ProfileError as exc:
        return {}, str(exc)


def refresh(engine: Engine, settings: Settings, *, on: dt.date | None = None,
            documents: list[int] | None = None, also: set[int] | None = None
            ) -> RefreshReport:
    """Re-match certificates that need it, re-evaluate vendors as of ``on`` (default today),
    record changed statuses and queue their notices.

    ``documents``: only the vendors the certificates of these documents belong to, or may
    belong to, before and after re-matching (a batch's or a correction's refresh; dates are
    moved on for every vendor by the daily run, which passes None), and those in ``also``.
    """
    report = RefreshReport()
    with Session(engine) as s, s.begin():
        vendors = list(s.scalars(select(Vendor).order_by(Vendor.id)))
        report.vendors = len(vendors)
        if not vendors:
            return report
        profiles, error = profiles_or_error(settings)
        if error:
            # A broken profile file must not look like a change of every vendor: keep the
            # statuses as they are and say why.
            report.error = error
            log.warning("compliance not evaluated: %s", error)
            return report
        certs = None if documents is None else list(s.scalars(
            select(Certificate.id).where(Certificate.document_id.in_(documents))))
        touched = _vendors_of(s, certs) | (also or set())
        report.matched = _rematch(s, vendors, certs)
        touched |= _vendors_of(s, certs)
        day = on or today()
        if certs is not None:
            vendors = [v for v in vendors if v.id in touched]
        inputs = vendor_inputs(s, None if certs is None else touched)
        known = {row.vendor_id: row for row in s.scalars(select(VendorStatus))}
        for vendor in vendors:
            if vendor.profile not in profiles:
                # Deleted or renamed: not a change of the vendor's insurance, so no notice;
                # the status stays until the profile is back or the vendor is moved.
                report.warnings.append(f"vendor {vendor.name!r}: no profile "
                                       f"{vendor.profile!r}; its status is kept")
                continue
            ev = evaluate_vendor(s, vendor, profiles, day, inputs)
            change = _record(s, vendor, ev, day, known.get(vendor.id))
            if change is not None:
                report.changes.append(change)
                report.notices += queue_notices(
                    s, vendor=vendor, status=s.get(VendorStatus, vendor.id),
                    previous=change.previous, previous_alert=change.previous_alert,
                    settings=settings)
    for w in report.warnings:
        log.warning("%s", w)
    return report


def _vendors_of(s: Session, certs: list[int] | None) -> set[int]:
    if certs is None:
        return set()
    rows = s.execute(select(VendorMatch.vendor_id, VendorMatch.rejected_vendor_ids)
                     .where(VendorMatch.certificate_id.in_(certs))).all()
    return {v for vid, rejected in rows for v in [vid, *(rejected or [])] if v}


def _rematch(s: Session, vendors: list[Vendor], certs: list[int] | None) -> int:
    """Match the certificates whose match may have changed: never matched, their insured's
    name (or its review status) changed, or a vendor was added since.  A reviewer's
    decision stands -- until the name it was made on is corrected."""
    keys = {v.id: v.key for v in vendors}
    newest_vendor = max(keys)
    name_status = (select(Field.status).where(Field.certificate_id == Certificate.id,
                                              Field.path == "insured.name")
                   .scalar_subquery())
    query = (select(Certificate.id, Certificate.insured_name, name_status, VendorMatch)
             .join(Document, Document.id == Certificate.document_id)
             .outerjoin(VendorMatch, VendorMatch.certificate_id == Certificate.id)
             .where(Document.status == "processed"))
    if certs is not None:
        query = query.where(Certificate.id.in_(certs))
    changed = 0
    now = utcnow()
    for cert_id, insured, status, known in s.execute(query).all():
        renamed = known is not None and known.insured_name != insured
        if renamed:
            # A decision was about the name as it was read; a corrected name is a new
            # question (and every vendor a candidate again).
            known.decided_by, known.rejected_vendor_ids = "auto", []
        if known is not None and known.decided_by != "auto":
            continue  # a reviewer decided; never second-guessed
        # Review rows are few and may be settled by a reviewer confirming the name: always
        # looked at again.
        if known is not None and not renamed and known.vendors_seen >= newest_vendor \
                and (known.state == "unmatched" or
                     (known.state == "attached" and status in TRUSTED)):
            continue
        rejected = set(known.rejected_vendor_ids or []) if known is not None else set()
        m = match(insured, {i: k for i, k in keys.items() if i not in rejected})
        state = m.state
        if state == "attached" and status not in TRUSTED:
            state = "review"  # the name itself awaits review: it attaches nothing yet
        if known is None:
            known = VendorMatch(certificate_id=cert_id, rejected_vendor_ids=[])
            s.add(known)
        elif (known.vendor_id, known.state, known.insured_name) == (m.vendor_id, state,
                                                                     insured):
            known.vendors_seen = newest_vendor
            continue
        known.vendor_id, known.state, known.score = m.vendor_id, state, round(m.score, 1)
        known.insured_name, known.decided_at = insured, now
        known.vendors_seen = newest_vendor
        changed += 1
    return changed


def vendor_inputs(s: Session, vendor_ids: set[int] | None = None
                  ) -> dict[int, tuple[list[CertView], list[tuple[int, str | None]]]]:
    """Per vendor, what its evaluation needs: the attached certificates as CertViews, and
    the certificates (id, insured) waiting for a match decision -- for many vendors in a
    few queries (one per table), not a few per vendor."""
    query = (select(VendorMatch.vendor_id, VendorMatch.state, VendorMatch.insured_name,
                    Certificate.id, Certificate.certificate_date, Document.created_at)
             .join(Certificate, Certificate.id == VendorMatch.certificate_id)
             .join(Document, Document.id == Certificate.document_id)
             .where(VendorMatch.state.in_(("attached", "review")))
             .order_by(VendorMatch.certificate_id))
    if vendor_ids is not None:
        query = query.where(VendorMatch.vendor_id.in_(vendor_ids))
    out: dict[int, tuple[list[CertView], list[tuple[int, str | None]]]] = {}
    meta: dict[int, tuple[int, Any, Any]] = {}
    for vid, state, insured, cid, date, received in s.execute(query):
        views, awaiting = out.setdefault(vid, ([], []))
        if state == "review":
            awaiting.append((cid, insured))
        else:
            meta[cid] = (vid, date, received)
    values = field_values(s, list(meta))
    for cid, (vid, date, received) in meta.items():
        out[vid][0].append(CertView(cid, date, received, *values[cid]))
    return out


def field_values(s: Session, ids: list[int]
                 ) -> dict[int, tuple[dict[str, Any], dict[str, str]]]:
    """Per certificate, its field values and statuses by path.  Plain Core rows: building
    full records (ORM objects) cost two thirds of a refresh."""
    values: dict[int, tuple[dict[str, Any], dict[str, str]]] = {c: ({}, {}) for c in ids}
    for i in range(0, len(ids), 500):
        for cid, path, value, status in s.execute(
                select(Field.certificate_id, Field.path, Field.value, Field.status)
                .where(Field.certificate_id.in_(ids[i:i + 500]))):
            values[cid][0][path] = value
            values[cid][1][path] = status
    return values


def evaluate_vendor(s: Session, vendor: Vendor, profiles: dict[str, Profile],
                    day: dt.date, inputs: dict[int, Any] | None = None) -> Evaluation:
    """``inputs``: :func:`vendor_inputs` loaded already for many vendors."""
    profile = profiles.get(vendor.profile)
    if profile is None:  # refresh skips these; a report shows why
        known = ", ".join(sorted(profiles)) or "none"
        return Evaluation("pending_review", [Reason(
            "pending_review", "profile",
            f"profile {vendor.profile!r} is not defined (profiles: {known})")])
    if inputs is None:
        inputs = vendor_inputs(s, {vendor.id})
    views, awaiting = inputs.get(vendor.id, ([], []))
    return evaluate(profile, views, day, awaiting)


def alert_of(ev: Evaluation) -> str:
    """What notices are about: the status, except that a vendor pending review with a
    settled expiring policy is expiring all the same (a review elsewhere on its certificates
    cannot make that policy last longer, and the renewal takes time to ask for)."""
    if ev.status == "pending_review" and any(r.severity == "expiring" for r in ev.reasons):
        return "expiring"
    return ev.status


def _record(s: Session, vendor: Vendor, ev: Evaluation, day: dt.date,
            row: VendorStatus | None) -> Change | None:
    reasons = [r.as_dict() for r in ev.reasons]
    now = utcnow()
    alert = alert_of(ev)
    if row is None:
        s.add(VendorStatus(vendor_id=vendor.id, status=ev.status, alert=alert,
                           reasons=reasons, seq=1, as_of=day, evaluated_at=now,
                           changed_at=now))
        s.flush()
        return Change(vendor.name, None, ev.status, None)
    previous, previous_alert = row.status, row.alert or row.status
    row.reasons, row.as_of, row.evaluated_at = reasons, day, now
    if (previous, previous_alert) == (ev.status, alert):
        return None
    row.status, row.alert, row.seq, row.changed_at = ev.status, alert, row.seq + 1, now
    s.flush()
    return Change(vendor.name, previous, ev.status, previous_alert)


def refresh_and_notify(db_url: str, settings: Settings | None = None,
                       on: dt.date | None = None, *, documents: list[int] | None = None,
                       quick: bool = False, evaluate: bool = True) -> dict[str, Any]:
    """Re-evaluate (see :func:`refresh`), then send the notices that are due.  Plain
    function: the CLI, the review page and the flows call it; Prefect is not needed.

    ``quick``: one try per notice, no waiting between tries -- for batches, commands and
    the review page, which must not sit through a dead webhook's backoff; the notice stays
    due and the next run (every inbox-watch pass, the daily run, ``coi evaluate``) tries
    again with the full backoff.  ``evaluate=False`` only delivers.
    """
    from coi.settings import get_settings
    from compliance.notify import deliver

    settings = settings or get_settings()
    if quick:
        settings = settings.model_copy(update={"notify_attempts": 1})
    engine = make_engine(db_url)
    try:
        report = refresh(engine, settings, on=on, documents=documents) if evaluate \
            else RefreshReport()
        delivery = deliver(engine, settings)
    finally:
        engine.dispose()
    return {
        "vendors": report.vendors, "matched": report.matched,
        "changes": [{"vendor": c.vendor, "previous": c.previous, "status": c.status}
                    for c in report.changes], "error": report.error,
        "warnings": report.warnings,
        "sent": delivery.sent, "failed": delivery.failed, "pending": delivery.pending,
    }
