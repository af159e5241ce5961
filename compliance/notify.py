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
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from importlib import metadata
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coi.settings import Settings
from models.db import read_only
from models.orm import as_utc, utcnow
from models.orm_vendors import NOTICE_STATES, Notice, Vendor, VendorStatus

NOTIFY_STATUSES = ("deficient", "expiring", "expired")
EVENT = "vendor.status_changed"
TIMEOUT_S = 10.0
# How long a claim holds a notice; a sender silent for longer is taken for dead.
LEASE = dt.timedelta(minutes=10)
# Longest wait before a notice is due again, whatever the backoff settings say.
MAX_DELAY = dt.timedelta(days=1)
_MAX_ERROR = 300

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
class _Outcome:
    ok: bool
    error: str | None = None  # on success: a partial problem worth recording
    permanent: bool = False


@dataclass
class _Claim:
    id: int
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int
    lease: dt.datetime  # the next_attempt_at this process wrote: its token


def _short(text: object, limit: int = _MAX_ERROR) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _send_webhook(client: httpx.Client, url: str, notice_id: int,
                  payload: dict[str, Any]) -> _Outcome:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"coi-notice-{notice_id}"}
    try:
        response = client.post(url, content=body, headers=headers)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return _Outcome(False, f"bad webhook URL {url}: {exc}", permanent=True)
    except httpx.TimeoutException:
        return _Outcome(False, f"no answer within {TIMEOUT_S:g} s from {url}")
    except httpx.ConnectError as exc:
        url_ = httpx.URL(url)
        where = f"{url_.host}:{url_.port or (443 if url_.scheme == 'https' else 80)}"
        if "refused" in str(exc).lower():
            return _Outcome(False, f"connection refused by {where}")
        return _Outcome(False, f"cannot connect to {where}: {exc}")
    except httpx.HTTPError as exc:
        return _Outcome(False, f"{type(exc).__name__} from {url}: {exc}")
    code = response.status_code
    if 200 <= code < 300:
        return _Outcome(True)
    error = f"HTTP {code} from {url}"
    if code >= 500 or code in (408, 429):
        return _Outcome(False, error)
    # 4xx (and a 3xx, which a webhook does not follow): the same request gets the same answer.
    detail = response.text.strip() if 400 <= code < 500 else response.headers.get("location")
    return _Outcome(False, f"{error}: {detail}" if detail else error, permanent=True)


def _email_message(sender: str, to: list[str], notice_id: int,
                  payload: dict[str, Any]) -> EmailMessage:
    """The e-mail of one notice (the same for every try, but for its Date)."""
    name = _short(payload["vendor"]["name"], 200)
    status, previous = payload["status"], payload.get("previous")
    msg = EmailMessage()
    alert = payload.get("alert") or status
    msg["Subject"] = f"[coi] {name} is now {status}" if alert == status else \
        f"[coi] {name}: a policy is {alert} (status {status.replace('_', ' ')})"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<coi-notice-{notice_id}@coi>"
    msg["Auto-Submitted"] = "auto-generated"
    was = f"was {previous}" if previous else "first evaluation"
    lines = [f"{name} is now {status} ({was}).", ""]
    reasons = payload.get("reasons") or []
    if reasons:
        lines.append("Reasons:")
        for reason in reasons:
            text = reason.get("message") if isinstance(reason, dict) else None
            lines.append(f"- {_short(text or reason, 1000)}")
    else:
        lines.append("No reasons given.")
    lines += ["", f"Status as of {payload.get('as_of')}, changed at {payload.get('changed_at')}.",
              "", f"-- coi notice {notice_id}"]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _send_email(settings: Settings, target: str, notice_id: int,
                payload: dict[str, Any]) -> _Outcome:
    if not settings.smtp_host:
        return _Outcome(False, "no smtp_host configured for e-mail notices", permanent=True)
    to = [a for a in (part.strip() for part in target.split(",")) if a]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        msg = _email_message(settings.smtp_from, to, notice_id, payload)
    except (ValueError, TypeError, KeyError) as exc:
        return _Outcome(False, f"cannot build the e-mail: {exc}", permanent=True)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(msg, from_addr=settings.smtp_from, to_addrs=to)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _Outcome(False, f"recipients refused by {where}: {_refusals(exc.recipients)}",
                        permanent=all(code >= 500 for code in codes))
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth, ...
        return _Outcome(False, f"SMTP {exc.smtp_code} from {where}: {_text(exc.smtp_error)}",
                        permanent=exc.smtp_code >= 500)
    except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS or AUTH offered
        return _Outcome(False, f"{where}: {exc}", permanent=True)
    except smtplib.SMTPServerDisconnected:
        return _Outcome(False, f"connection closed by {where}")
    except smtplib.SMTPException as exc:
        return _Outcome(False, f"SMTP error from {where}: {exc}")
    except ConnectionRefusedError:
        return _Outcome(False, f"connection refused by {where}")
    except TimeoutError:
        return _Outcome(False, f"no answer within {TIMEOUT_S:g} s from {where}")
    except OSError as exc:
        return _Outcome(False, f"cannot connect to {where}: {exc}")
    if refused:  # the others got it: sending again would repeat it to them
        return _Outcome(True, f"some recipients refused by {where}: {_refusals(refused)}")
    return _Outcome(True)


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({code} {_text(msg)})"
                     for addr, (code, msg) in recipients.items())


def _send(claim: _Claim, settings: Settings, client: httpx.Client) -> _Outcome:
    try:
        if claim.channel == "webhook":
            return _send_webhook(client, claim.target, claim.id, claim.payload)
        if claim.channel == "email":
            return _send_email(settings, claim.target, claim.id, claim.payload)
        return _Outcome(False, f"unknown channel {claim.channel!r}", permanent=True)
    except Exception as exc:  # never let one notice stop the run
        return _Outcome(False, f"unexpected {type(exc).__name__}: {exc}")


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
                values["last_error"] = _short(outcome.error)
            return "sent" if _update_claimed(engine, claim, **values) else None
        error = _short(outcome.error or "failed")
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
