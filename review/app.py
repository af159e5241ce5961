"""The review page: a queue of certificates with fields to review, each certificate's fields
with value, confidence and status, and a correct/confirm action per field.

FastAPI with server-rendered Jinja2 (autoescaped: every value read from a document is text,
never markup) and a JSON API behind it under ``/api``.  Every page and API call needs a
session (``coi user add`` makes reviewers); every state-changing request needs the session's
CSRF token, in the form (``csrf``) or the ``X-CSRF-Token`` header.  Values are normalized by
the extractors' own parsers (:func:`extractors.normalize.parser_for`), and stored through
:func:`models.store.apply_correction`, whose version check makes a second reviewer's stale
edit a conflict instead of a silent overwrite.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import BackgroundTasks, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from swagger_ui_bundle import swagger_ui_path

from models.db import make_engine, migrate
from models.store import StaleFieldError, list_corrections, list_fields
from models.users import SignedIn, session_of, sign_in, sign_out
from review import dashboard
from review.fields import CorrectionError, decide, group_fields, page_boxes, shown
from review.queue import certificate_header, page_image, pages_of, queue

HERE = Path(__file__).parent
COOKIE = "coi_session"
PRE_COOKIE = "coi_login"  # the login form's CSRF token (double submit: cookie and field)


class FieldAction(BaseModel):
    action: str  # "confirm" | "correct"
    value: str | None = None  # as typed; normalized like an extracted value
    version: int | None = None  # the version the reviewer saw


def create_app(db_url: str, *, secure_cookies: bool = False) -> FastAPI:
    engine = make_engine(db_url)
    migrate(engine)
    # FastAPI's own docs page loads Swagger UI from a CDN and is open to anyone; ours serves
    # the packaged copy (swagger-ui-bundle), behind sign-in like every other page.
    app = FastAPI(title="coi review", description="Review and correct the fields of "
                  "certificates of insurance read by coi. Sign in at /login first; changes "
                  "need the X-CSRF-Token header (GET /api/session).", version="1",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["shown"] = shown
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.engine = engine

    def user_of(request: Request) -> SignedIn | None:
        return session_of(engine, request.cookies.get(COOKIE))

    def need_user(request: Request) -> SignedIn:
        who = user_of(request)
        if who is None:
            raise HTTPException(401, "sign in first")
        return who

    def check_csrf(who: SignedIn, token: str | None) -> None:
        if not token or not secrets.compare_digest(token, who.csrf):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page")

    async def form(request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", "replace")
        return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}

    @app.exception_handler(HTTPException)
    async def _errors(request: Request, exc: HTTPException) -> Response:
        wants_html = not request.url.path.startswith("/api") and \
            "text/html" in request.headers.get("accept", "")
        if exc.status_code == 401 and wants_html:
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    # ------------------------------------------------------------------ sign in and out

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, error: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        resp = templates.TemplateResponse(request, "login.html",
                                          {"csrf": token, "error": error})
        resp.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict",
                        secure=secure_cookies)
        return resp

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        data = await form(request)
        pre = request.cookies.get(PRE_COOKIE)
        if not pre or not secrets.compare_digest(pre, data.get("csrf", "")):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page")
        signed = sign_in(engine, data.get("name", ""), data.get("password", ""))
        if signed is None:
            return RedirectResponse("/login?error=1", status_code=303)
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, signed[0], httponly=True, samesite="strict",
                        secure=secure_cookies, max_age=7 * 24 * 3600)
        resp.delete_cookie(PRE_COOKIE)
        return resp

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        who = need_user(request)
        check_csrf(who, (await form(request)).get("csrf"))
        sign_out(engine, request.cookies.get(COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # -------------------------------------------------------------------------- pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def queue_page(request: Request, status: str = "needs_review") -> Response:
        who = need_user(request)
        rows = queue(engine, status)
        return templates.TemplateResponse(request, "queue.html", {
            "who": who, "rows": rows, "status": status})

    @app.get("/certificates/{cert_id}", response_class=HTMLResponse, include_in_schema=False)
    def certificate_page(request: Request, cert_id: int, conflict: str = "") -> Response:
        who = need_user(request)
        head = certificate_header(engine, cert_id)
        if head is None:
            raise HTTPException(404, f"no certificate {cert_id}")
        fields = list_fields(engine, cert_id)
        return templates.TemplateResponse(request, "certificate.html", {
            "who": who, "head": head, "groups": group_fields(fields),
            "pages": page_boxes(pages_of(engine, head["document_id"]), fields),
            "trail": list_corrections(engine, cert_id), "conflict": conflict,
            "next_id": next((r["id"] for r in queue(engine, "needs_review")
                             if r["id"] != cert_id), None)})

    @app.get("/certificates/{cert_id}/pages/{page}.jpg", include_in_schema=False)
    def page_jpeg(request: Request, cert_id: int, page: int) -> Response:
        need_user(request)
        head = certificate_header(engine, cert_id)
        found = page_image(engine, head["document_id"], page) if head else None
        if found is None:
            raise HTTPException(404, "no such page image")
        return Response(found[0], media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/certificates/{cert_id}/fields", include_in_schema=False)
    async def field_form(request: Request, cert_id: int,
                         background: BackgroundTasks) -> Response:
        who = need_user(request)
        data = await form(request)
        check_csrf(who, data.get("csrf"))
        version = int(data["version"]) if data.get("version", "").isdigit() else None

        def save() -> None:  # blocking database work: off the event loop
            decide(engine, cert_id, data.get("path", ""), data.get("action", ""),
                   data.get("value"), version, who.user)
            dashboard.reevaluate(background, engine, db_url, cert_id)

        try:
            await run_in_threadpool(save)
        except StaleFieldError:
            return RedirectResponse(f"/certificates/{cert_id}?conflict={data.get('path')}",
                                    status_code=303)
        except CorrectionError as exc:
            raise HTTPException(exc.status, exc.message) from None
        return RedirectResponse(f"/certificates/{cert_id}#f-{data.get('path')}",
                                status_code=303)

    dashboard.register(app, templates=templates, engine=engine, db_url=db_url,
                       need_user=need_user, check_csrf=check_csrf, form=form)

    # ---------------------------------------------------------------------------- API

    @app.get("/api/certificates", summary="Certificates, oldest first, with review counts")
    def api_queue(request: Request, status: str = "needs_review") -> list[dict[str, Any]]:
        need_user(request)
        return queue(engine, status)

    @app.get("/api/certificates/{cert_id}", summary="A certificate's fields and audit trail")
    def api_certificate(request: Request, cert_id: int) -> dict[str, Any]:
        need_user(request)
        head = certificate_header(engine, cert_id)
        if head is None:
            raise HTTPException(404, f"no certificate {cert_id}")
        return {**head, "fields": [f.__dict__ for f in list_fields(engine, cert_id)],
                "corrections": list_corrections(engine, cert_id)}

    @app.post("/api/certificates/{cert_id}/fields/{path:path}",
              summary="Confirm or correct one field",
              responses={409: {"description": "the field changed since `version`"}})
    def api_field(request: Request, cert_id: int, path: str, body: FieldAction,
                  background: BackgroundTasks) -> dict[str, Any]:
        who = need_user(request)
        check_csrf(who, request.headers.get("x-csrf-token"))
        try:
            info = decide(engine, cert_id, path, body.action, body.value, body.version,
                          who.user)
        except StaleFieldError as exc:
            current = [f for f in list_fields(engine, cert_id) if f.path == path]
            raise HTTPException(409, {
                "message": "the field was changed by someone else; here is its value now",
                "current": current[0].__dict__ if current else None,
                "expected_version": exc.expected}) from None
        except CorrectionError as exc:
            raise HTTPException(exc.status, exc.message) from None
        dashboard.reevaluate(background, engine, db_url, cert_id)
        return info.__dict__

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        need_user(request)
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        need_user(request)
        return get_swagger_ui_html(openapi_url="/openapi.json", title="coi review API",
                                   swagger_js_url="/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/swagger/swagger-ui.css",
                                   swagger_favicon_url="/swagger/favicon-32x32.png")

    @app.get("/api/session", summary="Who is signed in, and the CSRF token for the API")
    def api_session(request: Request) -> dict[str, str]:
        who = need_user(request)
        return {"user": who.user, "csrf": who.csrf}

    return app

