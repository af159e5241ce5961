"""The compliance dashboard of the review page: counts per status, certificates expiring over
the next 90 days, the vendor list with reasons, each vendor's carriers and certificate
history, and the vendor matches a reviewer must decide.

Vendors are evaluated as of today on every view (compliance.report only reads).  A reviewer's
match decision and every field correction re-evaluate the vendors of that certificate at
once (a few milliseconds: one certificate's vendors, not all), and the notices are sent
after the response by one delivery at a time per process, one try each (a dead webhook
must not hold up reviewers; the next run retries with backoff).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import BackgroundTasks, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from coi.settings import get_settings
from compliance.profiles import line_label
from compliance.registry import VendorError, decide_match
from compliance.report import (
    ReportError,
    expiring_by_week,
    expiring_rows,
    review_matches,
    status_counts,
    vendor_detail,
    vendor_rows,
)
from compliance.service import refresh, refresh_and_notify
from models.db import read_only
from models.orm import Certificate
from models.users import SignedIn

log = logging.getLogger("coi.review")
_DELIVERING = threading.Lock()

CHART_DAYS = 91  # thirteen weeks


def chart(weeks: list[tuple[str, int]], height: int = 120, bar: int = 44) -> dict[str, Any]:
    """Bar geometry for the SVG chart (the template only draws it).  Bars stand on the
    baseline at ``height + 20``; the 20 px above the tallest leave room for its count."""
    top = max((n for _, n in weeks), default=0) or 1
    base = height + 20
    bars = []
    for i, (start, n) in enumerate(weeks):
        h = round(n / top * height)
        bars.append({"x": 40 + i * (bar + 8), "y": base - h, "h": h, "n": n,
                     "label": dt.date.fromisoformat(start).strftime("%b %d")})
    return {"bars": bars, "base": base, "bar": bar, "top": top, "top_y": base - height,
            "width": 40 + len(bars) * (bar + 8), "total": sum(n for _, n in weeks)}


def register(app: FastAPI, *, templates: Jinja2Templates, engine: Engine, db_url: str,
             need_user: Callable[[Request], SignedIn],
             check_csrf: Callable[[SignedIn, str | None], None],
             form: Callable[[Request], Awaitable[dict[str, str]]]) -> None:
    templates.env.filters["line_label"] = line_label

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request) -> Response:
        who = need_user(request)
        error, rows, soon = None, [], []
        try:
            rows = vendor_rows(engine, get_settings())
        except ReportError as exc:
            error = str(exc)
        try:
            soon = expiring_rows(engine, CHART_DAYS)
        except Exception:  # the page must show whatever it can
            log.exception("the expiring chart failed")
            error = (error + "; " if error else "") + "the expiring chart could not be drawn"
        return templates.TemplateResponse(request, "dashboard.html", {
            "who": who, "error": error, "rows": rows, "counts": status_counts(rows),
            "chart": chart(expiring_by_week(soon)), "soon": soon,
            "matches": review_matches(engine)})

    @app.get("/vendors/{vendor_id}", response_class=HTMLResponse, include_in_schema=False)
    def vendor_page(request: Request, vendor_id: int) -> Response:
        who = need_user(request)
        try:
            d = vendor_detail(engine, get_settings(), str(vendor_id))
        except VendorError:
            raise HTTPException(404, f"no vendor {vendor_id}") from None
        except ReportError as exc:
            raise HTTPException(500, str(exc)) from None
        return templates.TemplateResponse(request, "vendor.html", {"who": who, "v": d})

    @app.post("/vendors/matches/{cert_id}", include_in_schema=False)
    async def match_form(request: Request, cert_id: int,
                         background: BackgroundTasks) -> Response:
        who = need_user(request)
        data = await form(request)
        check_csrf(who, data.get("csrf"))
        action, vendor = data.get("action"), data.get("vendor") or None
        if action not in ("attach", "reject") or (action == "attach" and not vendor):
            raise HTTPException(422, "action must be attach (with a vendor) or reject")

        def decide() -> None:  # blocking database work: off the event loop
            before = decide_match(engine, cert_id, vendor if action == "attach" else None,
                                  who.user, not_candidate=action == "reject")
            reevaluate(background, engine, db_url, cert_id, also={before} if before else None)

        try:
            await run_in_threadpool(decide)
        except VendorError as exc:
            raise HTTPException(404, str(exc)) from None
        return RedirectResponse("/dashboard", status_code=303)

    @app.get("/api/vendors", summary="Every vendor's compliance status as of today")
    def api_vendors(request: Request) -> list[dict[str, Any]]:
        need_user(request)
        try:
            return vendor_rows(engine, get_settings())
        except ReportError as exc:
            raise HTTPException(500, str(exc)) from None


def reevaluate(background: BackgroundTasks, engine: Engine, db_url: str,
               certificate_id: int, also: set[int] | None = None) -> None:
    """Re-evaluate the vendors of one certificate (and ``also``) now, blocking: call it off
    the event loop.  Notices are sent after the response."""
    try:
        with read_only(engine).connect() as c:
            doc = c.scalar(select(Certificate.document_id)
                           .where(Certificate.id == certificate_id))
        if doc is not None:
            refresh(engine, get_settings(), documents=[doc], also=also)
    except Exception:  # a broken profile or a busy database must not undo a correction
        log.exception("re-evaluating certificate %s failed", certificate_id)
    background.add_task(_deliver, db_url)


_AGAIN = threading.Event()


def _deliver(db_url: str) -> None:
    """One delivery at a time per process; a call that finds one running asks it to go
    round once more, so a notice queued meanwhile is not left for the next day."""
    _AGAIN.set()
    if not _DELIVERING.acquire(blocking=False):
        return
    try:
        while _AGAIN.is_set():
            _AGAIN.clear()
            try:
                refresh_and_notify(db_url, quick=True, evaluate=False)
            except Exception:
                log.exception("sending notices failed")
    finally:
        _DELIVERING.release()
