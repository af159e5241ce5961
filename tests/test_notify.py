"""Notices: queuing with a status change, delivery to real local receivers (HTTP and SMTP),
retries, give-up, claims across engines.  A real SQLite file per test, no mocks."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from coi.settings import Settings
from compliance.notify import (
    NOTIFY_STATUSES,
    DeliveryReport,
    _claim,
    deliver,
    list_notices,
    queue_notices,
)
from models.db import make_engine, migrate
from models.orm import as_utc, utcnow
from models.orm_vendors import Notice, Vendor, VendorStatus

REASONS = [
    {"code": "limit", "message": "General liability each occurrence 500,000 < 1,000,000"},
    {"code": "missing_policy", "message": "No workers compensation policy"},
]
NAME = "Acme Roofing LLC"


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database file, copied for each test (migrating takes a while)."""
    path = tmp_path_factory.mktemp("template") / "coi.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_db: Path) -> str:
    shutil.copy(migrated_db, tmp_path / "coi.db")
    return f"sqlite:///{tmp_path}/coi.db"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.messages: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[Any]:
    started: list[Controller] = []

    def start(refuse: set[str] | None = None) -> tuple[SmtpSink, int]:
        sink, port = SmtpSink(refuse), _free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return sink, port

    yield start
    for controller in started:
        controller.stop()


def _settings(**kw: Any) -> Settings:
    kw.setdefault("notify_backoff", 0.01)
    return Settings(**kw)


def _change(engine: Engine, settings: Settings, *, status: str = "deficient",
            previous: str | None = "compliant", seq: int = 1) -> int:
    """Record vendor NAME's status change number ``seq`` and queue its notices."""
    with Session(engine) as s, s.begin():
        vendor = s.scalar(select(Vendor).where(Vendor.name == NAME))
        if vendor is None:
            vendor = Vendor(name=NAME, key="acme roofing", profile="standard")
            s.add(vendor)
            s.flush()
        vs = s.get(VendorStatus, vendor.id)
        if vs is None:
            vs = VendorStatus(vendor_id=vendor.id)
            s.add(vs)
        vs.status, vs.reasons, vs.seq, vs.as_of = status, REASONS, seq, dt.date(2026, 12, 1)
        return queue_notices(s, vendor=vendor, status=vs, previous=previous, settings=settings)


def _notices(engine: Engine) -> list[Notice]:
    with Session(engine) as s:
        return list(s.scalars(select(Notice).order_by(Notice.id)))


# -- queuing -----------------------------------------------------------------------------


def test_queue_is_idempotent_and_only_for_notify_statuses(engine: Engine) -> None:
    settings = _settings(webhook_urls=["http://a.example/h", "http://b.example/h"],
                         smtp_host="127.0.0.1", smtp_to=["risk@example.com", "ops@example.com"])
    assert _change(engine, settings) == 3
    assert _change(engine, settings) == 0  # the same change again
    rows = _notices(engine)
    assert sorted((n.channel, n.target) for n in rows) == [
        ("email", "risk@example.com,ops@example.com"),
        ("webhook", "http://a.example/h"), ("webhook", "http://b.example/h")]
    assert all(n.state == "pending" and n.attempts == 0 and n.seq == 1 for n in rows)
    payload = rows[0].payload
    assert payload == {
        "event": "vendor.status_changed", "notice": rows[0].id,
        "vendor": {"id": rows[0].vendor_id, "name": NAME}, "status": "deficient",
        "alert": "deficient", "previous": "compliant", "reasons": REASONS, "as_of": "2026-12-01",
        "changed_at": payload["changed_at"]}
    assert dt.datetime.fromisoformat(payload["changed_at"]).tzinfo is not None

    assert _change(engine, settings, status="compliant", previous="deficient", seq=2) == 0
    assert _change(engine, settings, status="missing", previous="compliant", seq=3) == 0
    assert _change(engine, settings, status="expired", previous="expired", seq=4) == 0
    assert _change(engine, settings, status="expiring", previous=None, seq=5) == 3
    assert len(_notices(engine)) == 6
    assert set(NOTIFY_STATUSES) == {"deficient", "expiring", "expired"}
    # No smtp_host: no e-mail notice, whatever smtp_to says.
    assert _change(engine, _settings(smtp_to=["risk@example.com"]), seq=6) == 0


# -- webhooks ----------------------------------------------------------------------------


def test_webhook_delivered_once(engine: Engine, receiver: Any) -> None:
    hook = receiver()
    settings = _settings(webhook_urls=[hook.url()])
    assert _change(engine, settings) == 1
    assert deliver(engine, settings) == DeliveryReport(sent=1, failed=0, pending=0)
    assert deliver(engine, settings) == DeliveryReport(sent=0, failed=0, pending=0)

    [request] = hook.requests
    [notice] = _notices(engine)
    assert request["path"] == "/hook"
    assert request["headers"]["Idempotency-Key"] == f"coi-notice-{notice.id}"
    assert request["headers"]["User-Agent"].startswith("coi")
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == notice.payload
    assert notice.state == "sent" and notice.attempts == 1 and notice.last_error is None
    assert notice.sent_at is not None

    [listed] = list_notices(engine)
    assert listed["vendor"] == NAME and listed["state"] == "sent"
    assert listed["channel"] == "webhook" and listed["target"] == hook.url()
    assert listed["status"] == "deficient" and listed["previous"] == "compliant"
    assert dt.datetime.fromisoformat(listed["sent_at"]).tzinfo is not None
    assert list_notices(engine, "pending") == []
    with pytest.raises(ValueError):
        list_notices(engine, "bogus")


def test_retried_within_one_run(engine: Engine, receiver: Any) -> None:
    hook = receiver(500, 500, 200)
    settings = _settings(webhook_urls=[hook.url()], notify_backoff=0.01)
    _change(engine, settings)
    slept: list[float] = []
    assert deliver(engine, settings, sleep=slept.append).sent == 1
    assert slept == [0.01, 0.02]
    assert len(hook.requests) == 3
    assert len({r["headers"]["Idempotency-Key"] for r in hook.requests}) == 1
    assert len({r["body"] for r in hook.requests}) == 1  # the same bytes each time
    [notice] = _notices(engine)
    assert notice.state == "sent" and notice.attempts == 3
    assert notice.last_error == f"HTTP 500 from {hook.url()}"


@pytest.mark.parametrize("code", [408, 429, 503])
def test_temporary_answers_are_retried(engine: Engine, receiver: Any, code: int) -> None:
    hook = receiver(code)
    settings = _settings(webhook_urls=[hook.url()])
    _change(engine, settings)
    assert deliver(engine, settings).sent == 1
    assert _notices(engine)[0].attempts == 2


def test_always_failing_is_retried_over_runs_then_failed(engine: Engine, receiver: Any) -> None:
    hook = receiver(default=500)
    settings = _settings(webhook_urls=[hook.url()], notify_attempts=2, notify_give_up=5)
    _change(engine, settings)
    start = utcnow()
    assert deliver(engine, settings, now=lambda: start) == DeliveryReport(0, 0, 1)
    [notice] = _notices(engine)
    assert notice.state == "pending" and notice.attempts == 2
    assert as_utc(notice.next_attempt_at) > start
    assert notice.last_error == f"HTTP 500 from {hook.url()}"

    assert deliver(engine, settings, now=lambda: start) == DeliveryReport(0, 0, 0)  # not due
    assert len(hook.requests) == 2
    later = start + dt.timedelta(hours=1)
    assert deliver(engine, settings, now=lambda: later) == DeliveryReport(0, 0, 1)
    assert _notices(engine)[0].attempts == 4
    later += dt.timedelta(hours=1)
    assert deliver(engine, settings, now=lambda: later) == DeliveryReport(0, 1, 0)
    [notice] = _notices(engine)
    assert notice.state == "failed" and notice.attempts == 5  # one try left in the last run
    assert len(hook.requests) == 5
    assert deliver(engine, settings, now=lambda: later + dt.timedelta(days=9)).failed == 0


def test_a_target_that_is_down_is_not_tried_again_in_the_same_run(engine: Engine,
                                                                  receiver: Any) -> None:
    down, up = receiver(default=500), receiver()
    settings = _settings(webhook_urls=[down.url(), up.url()], notify_attempts=2)
    _change(engine, settings, seq=1)
    _change(engine, settings, status="expired", previous="deficient", seq=2)
    # Two notices to the dead receiver: the second is left for the next run untried; the
    # live receiver gets both of its own.
    assert deliver(engine, settings) == DeliveryReport(sent=2, failed=0, pending=1)
    assert len(down.requests) == 2 and len(up.requests) == 2
    attempts = sorted(n.attempts for n in _notices(engine) if n.target == down.url())
    assert attempts == [0, 2]


def test_not_found_fails_at_once(engine: Engine, receiver: Any) -> None:
    hook = receiver(default=404)
    settings = _settings(webhook_urls=[hook.url()])
    _change(engine, settings)
    assert deliver(engine, settings) == DeliveryReport(sent=0, failed=1, pending=0)
    [notice] = _notices(engine)
    assert notice.state == "failed" and notice.attempts == 1
    assert notice.last_error == f"HTTP 404 from {hook.url()}"
    assert len(hook.requests) == 1


def test_connection_refused_is_retried_later(engine: Engine) -> None:
    port = _free_port()  # nothing listens there
    settings = _settings(webhook_urls=[f"http://127.0.0.1:{port}/hook"], notify_attempts=2)
    _change(engine, settings)
    assert deliver(engine, settings) == DeliveryReport(sent=0, failed=0, pending=1)
    [notice] = _notices(engine)
    assert notice.attempts == 2
    assert notice.last_error == f"connection refused by 127.0.0.1:{port}"


# -- e-mail ------------------------------------------------------------------------------


def test_email_delivered(engine: Engine, smtp: Any) -> None:
    sink, port = smtp()
    settings = _settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="coi@example.com",
                         smtp_to=["risk@example.com", "ops@example.com"])
    assert _change(engine, settings) == 1
    assert deliver(engine, settings).sent == 1
    assert deliver(engine, settings).sent == 0

    [envelope] = sink.messages
    assert envelope.mail_from == "coi@example.com"
    assert envelope.rcpt_tos == ["risk@example.com", "ops@example.com"]
    msg = message_from_bytes(envelope.original_content, policy=policy.default)
    [notice] = _notices(engine)
    assert msg["Subject"] == f"[coi] {NAME} is now deficient"
    assert msg["From"] == "coi@example.com"
    assert msg["To"] == "risk@example.com, ops@example.com"
    assert msg["Message-ID"] == f"<coi-notice-{notice.id}@coi>"
    body = msg.get_content()
    for reason in REASONS:
        assert f"- {reason['message']}" in body
    assert "was compliant" in body and "2026-12-01" in body
    assert notice.state == "sent" and notice.target == "risk@example.com,ops@example.com"


def test_email_refused_recipient_fails_at_once(engine: Engine, smtp: Any) -> None:
    sink, port = smtp(refuse={"nobody@example.com"})
    settings = _settings(smtp_host="127.0.0.1", smtp_port=port, smtp_to=["nobody@example.com"])
    _change(engine, settings)
    assert deliver(engine, settings) == DeliveryReport(sent=0, failed=1, pending=0)
    [notice] = _notices(engine)
    assert notice.state == "failed" and notice.attempts == 1
    assert "nobody@example.com (550" in notice.last_error
    assert sink.messages == []


# -- several processes -------------------------------------------------------------------


def test_restart_does_not_resend(db_url: str, engine: Engine, receiver: Any) -> None:
    hook = receiver()
    settings = _settings(webhook_urls=[hook.url()])
    _change(engine, settings)
    assert deliver(engine, settings).sent == 1
    engine.dispose()
    again = make_engine(db_url)
    try:
        assert deliver(again, settings) == DeliveryReport(0, 0, 0)
        assert list_notices(again)[0]["state"] == "sent"
    finally:
        again.dispose()
    assert len(hook.requests) == 1


def test_stale_claim_is_taken_over_fresh_one_is_not(engine: Engine, receiver: Any) -> None:
    hook = receiver()
    settings = _settings(webhook_urls=[hook.url("/a"), hook.url("/b")])
    _change(engine, settings)
    dead, alive = _notices(engine)
    # A sender claimed a and died; another claimed b nine minutes later and is still at it.
    t0 = utcnow()
    assert _claim(engine, dead.id, t0) is not None
    assert _claim(engine, alive.id, t0 + dt.timedelta(minutes=9)) is not None
    assert _claim(engine, alive.id, t0 + dt.timedelta(minutes=9)) is None  # claimed already
    assert deliver(engine, settings, now=lambda: t0 + dt.timedelta(minutes=5)).sent == 0

    at = t0 + dt.timedelta(minutes=11)  # a's claim is 11 minutes old, b's 2
    assert deliver(engine, settings, now=lambda: at) == DeliveryReport(sent=1, failed=0, pending=0)
    assert [r["path"] for r in hook.requests] == ["/a"]
    states = {n.target: n.state for n in _notices(engine)}
    assert states == {hook.url("/a"): "sent", hook.url("/b"): "sending"}
    # Once b's claim is 10 minutes old without a sign of life, b is due again.
    late = t0 + dt.timedelta(minutes=20)
    assert deliver(engine, settings, now=lambda: late).sent == 1
    assert [r["path"] for r in hook.requests] == ["/a", "/b"]


def test_concurrent_deliverers_send_each_notice_once(db_url: str, engine: Engine,
                                                     receiver: Any) -> None:
    hook = receiver(500, 500, 500)  # a few retries make the runs overlap longer
    urls = [hook.url(f"/{i}") for i in range(8)]
    settings = _settings(webhook_urls=urls, notify_backoff=0.005)
    assert _change(engine, settings) == 8
    reports: list[DeliveryReport] = []

    def run() -> None:
        eng = make_engine(db_url)  # each with its own connections, as another process would
        try:
            reports.append(deliver(eng, settings))
        finally:
            eng.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(r.sent for r in reports) == 8
    ok_paths = sorted(r["path"] for r in hook.requests)
    assert len(ok_paths) == 8 + 3  # each notice once, plus the three answered 500
    assert all(n.state == "sent" for n in _notices(engine))
    assert sum(n.attempts for n in _notices(engine)) == 11


def test_an_expiry_of_a_vendor_pending_review_is_said_so_in_the_subject() -> None:
    from compliance.channels import email_message

    payload = {"vendor": {"id": 1, "name": NAME}, "status": "pending_review",
               "alert": "expiring", "previous": "compliant", "reasons": REASONS,
               "as_of": "2026-12-01"}
    msg = email_message("coi@localhost", ["risk@example.com"], 7, payload)
    assert msg["Subject"] == f"[coi] {NAME}: a policy is expiring (status pending review)"
