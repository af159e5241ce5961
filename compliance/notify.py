"""Notices of vendor status changes: queued with the change, delivered by webhook and e-mail.

A notice row is written in the transaction of the status change it reports (never lost, and
once per target by the unique key).  :func:`deliver` may run in any number of processes:

* A due notice is *claimed* by a conditional UPDATE in a short transaction of its own: state
  ``sending``, ``next_attempt_at`` = the claim's lease expiry (now + 10 minutes).  A notice
  ``sending`` past its lease was left by a sender that died; it is due again.
* Each try first renews the lease and counts the attempt, on condition that the lease is still
  the one this process wrote (``next_attempt_at`` doubles as the claim's token): a sender whose
  claim was taken over stops.  No transaction is open during a network call.
* The payload is stored at queue time, so every try sends the same bytes.  Delivery is at least
  once (a sender dying between sending and recording it); receivers can de-duplicate on
  ``Idempotency-Key: coi-notice-<id>`` or ``Message-ID: <coi-notice-<id>@coi>``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coi.settings import Settings
from compliance.channels import TIMEOUT_S, Outcome, send_email, send_webhook, short
from models.db import read_only
from models.orm import as_utc, utcnow
from models.orm_vendors import NOTICE_STATES, Notice, Vendor, VendorStatus

NOTIFY_STATUSES = ("deficient", "expiring", "expired")
EVENT = "vendor.status_changed"
# How long a claim holds a notice; a sender silent for longer is taken for dead.
LEASE = dt.timedelta(minutes=10)
# Longest wait before a notice is due again, whatever the backoff settings say.
MAX_DELAY = dt.timedelta(days=1)

_T = Notice.__table__


def _user_agent() -> str:
    try:
        return f"coi/{metadata.version('coi')}"
    except metadata.PackageNotFoundError:
        return "coi"


def _iso(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


# -- queuing -----------------------------------------------------------------------------


def _targets(settings: Settings) -> list[tuple[str, str]]:
    targets = [("webhook", url) for url in dict.fromkeys(u.strip() for u in settings.webhook_urls)
               if url]
    to = list(dict.fromkeys(a.strip() for a in settings.smtp_to if a.strip()))
    if settings.smtp_host and to:
        targets.append(("email", ",".join(to)))
    return targets


def queue_notices(s: Session, *, vendor: Vendor, status: VendorStatus, previous: str | None,
                  settings: Settings, previous_alert: str | None = None) -> int:
    """Inside the caller's transaction: one Notice per webhook URL and one per e-mail (all
    smtp_to addresses together, target = comma-joined), for this change (vendor.id, status.seq),
    when the change's alert (``status.alert``, else its status: what the notice is about) is
    in NOTIFY_STATUSES and differs from the previous one.  Rows already there for the same
    (vendor, seq, channel, target) are left alone (idempotent).  Returns rows added.
    """
    alert = status.alert or status.status
    if alert not in NOTIFY_STATUSES or alert == (previous_alert or previous):
        return 0
    targets = _targets(settings)
    if not targets:
        return 0
    s.flush()  # vendor.id, status.seq and status.changed_at are set at flush
    existing = {(channel, target) for channel, target in s.execute(
        select(Notice.channel, Notice.target)
        .where(Notice.vendor_id == vendor.id, Notice.seq == status.seq))}
    payload: dict[str, Any] = {
        "event": EVENT,
        "notice": None,
        "vendor": {"id": vendor.id, "name": vendor.name},
        "status": status.status,
        "previous": previous,
        # what the notice is about: the status, or "expiring" for a vendor pending review
        # whose expiring policy is settled
        "alert": alert,
        "reasons": list(status.reasons or []),
        "as_of": status.as_of.isoformat(),
        "changed_at": _iso(status.changed_at),
    }
    now = utcnow()
    added = 0
    for channel, target in targets:
        if (channel, target) in existing:
            continue
        notice = Notice(vendor_id=vendor.id, seq=status.seq, channel=channel, target=target,
                        status=alert, previous=previous, payload=payload,
                        state="pending", attempts=0, created_at=now, next_attempt_at=now)
        try:
            with s.begin_nested():  # another process may have queued it meanwhile
                s.add(notice)
                s.flush()
        except IntegrityError:
            continue
        notice.payload = {**payload, "notice": notice.id}  # a new dict: JSON is not mutable
        added += 1
    s.flush()
    return added


# -- sending -----------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    pending: int = 0  # tried in this run and due again later (attempts left)


@dataclass
class _Claim:
    id: int
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int
    lease: dt.datetime  # the next_attempt_at this process wrote: its token


def _send(claim: _Claim, settings: Settings, client: httpx.Client) -> Outcome:
    try:
        if claim.channel == "webhook":
            return send_webhook(client, claim.target, claim.id, claim.payload)
        if claim.channel == "email":
            return send_email(settings, claim.target, claim.id, claim.payload)
        return Outcome(False, f"unknown channel {claim.channel!r}", permanent=True)
    except Exception as exc:  # never let one notice stop the run
        return Outcome(False, f"unexpected {type(exc).__name__}: {exc}")


def _at(now: Callable[[], dt.datetime]) -> dt.datetime:
    return as_utc(now()).astimezone(dt.UTC)


def _due(engine: Engine, at: dt.datetime) -> list[tuple[int, str, str]]:
    with read_only(engine).begin() as conn:
        return [tuple(r) for r in conn.execute(
            select(_T.c.id, _T.c.channel, _T.c.target)
            .where(_T.c.state.in_(("pending", "sending")), _T.c.next_attempt_at <= at)
            .order_by(_T.c.next_attempt_at, _T.c.id))]


def _claim(engine: Engine, notice_id: int, at: dt.datetime) -> _Claim | None:
    """Take a due notice (pending, or sending with an expired lease) for this process."""
    lease = at + LEASE
    with engine.begin() as conn:
        taken = conn.execute(
            update(_T)
            .where(_T.c.id == notice_id, _T.c.state.in_(("pending", "sending")),
                   _T.c.next_attempt_at <= at)
            .values(state="sending", next_attempt_at=lease)).rowcount
        if taken != 1:
            return None
        row = conn.execute(select(_T.c.channel, _T.c.target, _T.c.payload, _T.c.attempts)
                           .where(_T.c.id == notice_id)).one()
    return _Claim(notice_id, row.channel, row.target, row.payload, row.attempts, lease)


def _update_claimed(engine: Engine, claim: _Claim, **values: Any) -> bool:
    """Update a notice only while this process's claim on it holds."""
    with engine.begin() as conn:
        return conn.execute(
            update(_T)
            .where(_T.c.id == claim.id, _T.c.state == "sending",
                   _T.c.next_attempt_at == claim.lease, _T.c.attempts == claim.attempts)
            .values(**values)).rowcount == 1


def _start_try(engine: Engine, claim: _Claim, at: dt.datetime, error: str | None) -> bool:
    lease = at + LEASE
    values: dict[str, Any] = {"attempts": claim.attempts + 1, "next_attempt_at": lease}
    if error is not None:
        values["last_error"] = error
    if not _update_claimed(engine, claim, **values):
        return False
    claim.attempts, claim.lease = claim.attempts + 1, lease
    return True


def _deliver_one(engine: Engine, claim: _Claim, settings: Settings, client: httpx.Client,
                 now: Callable[[], dt.datetime], sleep: Callable[[float], None]) -> str | None:
    """Try one claimed notice; its new state, or None when the claim was lost."""
    error: str | None = None
    permanent = False
    tries = 0
    while tries < settings.notify_attempts and claim.attempts < settings.notify_give_up:
        if tries:
            sleep(settings.notify_backoff * 2 ** (tries - 1))
        if not _start_try(engine, claim, _at(now), error):
            return None
        tries += 1
        outcome = _send(claim, settings, client)
        if outcome.ok:
            values: dict[str, Any] = {"state": "sent", "sent_at": _at(now)}
            if outcome.error:
                values["last_error"] = short(outcome.error)
            return "sent" if _update_claimed(engine, claim, **values) else None
        error = short(outcome.error or "failed")
        if outcome.permanent:
            permanent = True
            break
    at = _at(now)
    final: dict[str, Any] = {} if error is None else {"last_error": error}
    if permanent or claim.attempts >= settings.notify_give_up:
        final.update(state="failed", next_attempt_at=at)
    else:
        delay = min(dt.timedelta(seconds=settings.notify_backoff * 2 ** claim.attempts),
                    MAX_DELAY)
        final.update(state="pending", next_attempt_at=at + delay)
    return final["state"] if _update_claimed(engine, claim, **final) else None


def deliver(engine: Engine, settings: Settings, *, now: Callable[[], dt.datetime] = utcnow,
            sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Send every notice that is due: pending with next_attempt_at <= now, or left 'sending'
    by a sender silent for more than 10 minutes (it died).  Each notice is claimed first by a
    conditional UPDATE (committed), so two processes never send one notice at once.  Up to
    settings.notify_attempts tries in this run, sleeping notify_backoff * 2**i between them.

    Success: state sent.  Permanent failure (HTTP 4xx except 408 and 429, a 3xx, a bad URL;
    SMTP recipients refused or another 5xx answer): failed at once.  Tries exhausted: pending
    again, due in notify_backoff * 2**attempts seconds (a day at most), or failed once attempts
    reaches notify_give_up.  ``attempts`` counts every try, ``last_error`` keeps the latest
    error.  Never raises for a delivery problem (database errors do propagate).
    """
    report = DeliveryReport()
    due = _due(engine, _at(now))
    if not due:
        return report
    # A target that outlasted every try of this run is down: its other notices wait for the
    # next run instead of each sitting through the same tries (a batch must not stall on a
    # dead webhook).
    down: set[tuple[str, str]] = set()
    with httpx.Client(timeout=TIMEOUT_S, headers={"User-Agent": _user_agent()}) as client:
        for notice_id, channel, target in due:
            if (channel, target) in down:
                continue
            claim = _claim(engine, notice_id, _at(now))
            if claim is None:  # another process took it, or it is no longer due
                continue
            state = _deliver_one(engine, claim, settings, client, now, sleep)
            if state is not None:  # None: the claim was taken over meanwhile
                setattr(report, state, getattr(report, state) + 1)
            if state == "pending":
                down.add((channel, target))
    return report


# -- listing -----------------------------------------------------------------------------


def list_notices(engine: Engine, state: str | None = None) -> list[dict[str, Any]]:
    """Newest first: id, vendor (name), status, previous, channel, target, state, attempts,
    last_error, created_at, sent_at (ISO strings) -- for `coi notices`."""
    if state is not None and state not in NOTICE_STATES:
        raise ValueError(f"unknown notice state {state!r}; one of {', '.join(NOTICE_STATES)}")
    query = (select(_T.c.id, Vendor.name.label("vendor"), _T.c.status, _T.c.previous,
                    _T.c.channel, _T.c.target, _T.c.state, _T.c.attempts, _T.c.last_error,
                    _T.c.created_at, _T.c.sent_at)
             .join(Vendor, Vendor.id == _T.c.vendor_id)
             .order_by(_T.c.created_at.desc(), _T.c.id.desc()))
    if state is not None:
        query = query.where(_T.c.state == state)
    with read_only(engine).begin() as conn:
        rows = conn.execute(query).mappings().all()
    return [{**row, "created_at": _iso(row["created_at"]), "sent_at": _iso(row["sent_at"])}
            for row in rows]
