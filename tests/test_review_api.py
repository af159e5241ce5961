"""The review page's server and JSON API through FastAPI's test client, on a real SQLite
file: sign-in, CSRF, escaping, normalization of typed values, the audit trail, and two
reviewers changing one field.  Records are stored through models.store (the pipeline's
reading is not under test here)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script> Roofing LLC"


def _store(url: str, insured: str, n: int) -> int:
    from models.db import make_engine, migrate
    from models.store import save_result
    from pipeline.types import DocumentResult, Extraction, FieldValue

    values: dict[str, Any] = {"insured.name": insured, "producer.name": "Harbor Point Ins",
                              "certificate_date": "2026-03-14",
                              "policies.general_liability.policy_number": f"GL-{n}",
                              "policies.general_liability.expiration_date": "2027-01-01"}
    review = {"certificate_date", "policies.general_liability.expiration_date"}
    fields = {p: FieldValue(p, v, 0.55 if p in review else 0.97, 1, (10, 20, 110, 40),
                            "needs_review" if p in review else "accepted")
              for p, v in values.items()}
    engine = make_engine(url)
    migrate(engine)
    result = DocumentResult(file=f"cert-{n}.pdf", path=f"/in/cert-{n}.pdf",
                            sha256=hashlib.sha256(f"{n}".encode()).hexdigest(),
                            media_type="application/pdf", pages=1, status="processed",
                            extractions=[Extraction(fields)])
    outcome = save_result(engine, result)
    engine.dispose()
    return outcome.certificate_id


@pytest.fixture
def site(tmp_path):
    from models.db import make_engine
    from models.users import add_user
    from review.app import create_app

    url = f"sqlite:///{tmp_path / 'coi.db'}"
    first = _store(url, XSS, 1)
    second = _store(url, "Acme Plumbing Inc", 2)
    add_user(make_engine(url), "ana", PASSWORD)
    add_user(make_engine(url), "ben", PASSWORD)
    return {"url": url, "app": create_app(url), "first": first, "second": second}


def _login(app: Any, name: str = "ana", password: str = PASSWORD) -> TestClient:
    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"csrf": token, "name": name, "password": password},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


def _csrf(client: TestClient) -> str:
    return client.get("/api/session").json()["csrf"]


def test_every_page_and_call_needs_a_session(site):
    anon = TestClient(site["app"])
    r = anon.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    for path in ("/api/certificates", f"/api/certificates/{site['first']}", "/api/session"):
        assert anon.get(path).status_code == 401
    r = anon.post(f"/api/certificates/{site['first']}/fields/certificate_date",
                  json={"action": "confirm"})
    assert r.status_code == 401


def test_wrong_password_and_login_without_its_token_do_not_sign_in(site):
    client = _login(site["app"], password="not the password")
    assert client.get("/api/session").status_code == 401
    fresh = TestClient(site["app"])
    r = fresh.post("/login", data={"name": "ana", "password": PASSWORD},
                   follow_redirects=False)
    assert r.status_code == 403


def test_session_cookie_is_httponly_and_samesite(site):
    client = TestClient(site["app"])
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"csrf": token, "name": "ana", "password": PASSWORD},
                    follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "coi_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_queue_oldest_first_with_counts(site):
    client = _login(site["app"])
    rows = client.get("/api/certificates").json()
    assert [r["id"] for r in rows] == [site["first"], site["second"]]
    assert [r["needs_review"] for r in rows] == [2, 2]
    page = client.get("/", headers={"accept": "text/html"})
    assert "cert-1.pdf" in page.text and "cert-2.pdf" in page.text


def test_a_document_value_is_shown_as_text_never_run(site):
    client = _login(site["app"])
    for page in (client.get("/"), client.get(f"/certificates/{site['first']}")):
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_correct_by_api_normalizes_and_is_audited_and_exported(site):
    from models.db import make_engine
    from models.export import iter_records

    client = _login(site["app"])
    cert = site["first"]
    field = next(f for f in client.get(f"/api/certificates/{cert}").json()["fields"]
                 if f["path"] == "certificate_date")
    r = client.post(f"/api/certificates/{cert}/fields/certificate_date",
                    json={"action": "correct", "value": "3/4/26", "version": field["version"]},
                    headers={"x-csrf-token": _csrf(client)})
    assert r.status_code == 200, r.text
    assert (r.json()["value"], r.json()["status"]) == ("2026-03-04", "corrected")
    r = client.post(f"/api/certificates/{cert}/fields/policies.general_liability."
                    "expiration_date", json={"action": "confirm"},
                    headers={"x-csrf-token": _csrf(client)})
    assert r.json()["status"] == "confirmed"
    trail = client.get(f"/api/certificates/{cert}").json()["corrections"]
    assert [(c["user"], c["path"], c["old_value"], c["new_value"]) for c in trail] == [
        ("ana", "certificate_date", "2026-03-14", "2026-03-04"),
        ("ana", "policies.general_liability.expiration_date", "2027-01-01", "2027-01-01")]
    record = next(r for r in iter_records(make_engine(site["url"]))
                  if r["source"]["file"] == "cert-1.pdf")
    assert record["certificate_date"] == "2026-03-04"
    assert record["fields"]["certificate_date"]["status"] == "corrected"
    page = client.get(f"/certificates/{cert}")
    assert "2026-03-04" in page.text and "ana" in page.text
    assert client.get("/api/certificates").json()[0]["id"] == site["second"]  # done


def test_an_invalid_value_is_refused(site):
    client = _login(site["app"])
    r = client.post(f"/api/certificates/{site['first']}/fields/certificate_date",
                    json={"action": "correct", "value": "next tuesday"},
                    headers={"x-csrf-token": _csrf(client)})
    assert r.status_code == 422 and "not a valid value" in r.text


def test_changes_without_the_csrf_token_are_refused(site):
    client = _login(site["app"])
    cert = site["first"]
    r = client.post(f"/api/certificates/{cert}/fields/certificate_date",
                    json={"action": "confirm"})
    assert r.status_code == 403
    r = client.post(f"/api/certificates/{cert}/fields/certificate_date",
                    json={"action": "confirm"}, headers={"x-csrf-token": "forged"})
    assert r.status_code == 403
    r = client.post(f"/certificates/{cert}/fields",
                    data={"path": "certificate_date", "action": "confirm"},
                    follow_redirects=False)
    assert r.status_code == 403
    statuses = {f["path"]: f["status"]
                for f in client.get(f"/api/certificates/{cert}").json()["fields"]}
    assert statuses["certificate_date"] == "needs_review"


def test_the_form_corrects_with_its_token(site):
    client = _login(site["app"])
    cert = site["first"]
    page = client.get(f"/certificates/{cert}").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = client.post(f"/certificates/{cert}/fields", follow_redirects=False, data={
        "csrf": token, "path": "policies.general_liability.policy_number", "action": "correct",
        "value": "GL-1-A", "version": "1"})
    assert r.status_code == 303
    fields = {f["path"]: f for f in client.get(f"/api/certificates/{cert}").json()["fields"]}
    assert fields["policies.general_liability.policy_number"]["value"] == "GL-1-A"


def test_second_reviewer_is_told_and_sees_the_new_value(site):
    ana, ben = _login(site["app"], "ana"), _login(site["app"], "ben")
    cert = site["first"]
    path = "policies.general_liability.policy_number"
    version = next(f for f in ana.get(f"/api/certificates/{cert}").json()["fields"]
                   if f["path"] == path)["version"]
    r = ana.post(f"/api/certificates/{cert}/fields/{path}",
                 json={"action": "correct", "value": "GL-ANA", "version": version},
                 headers={"x-csrf-token": _csrf(ana)})
    assert r.status_code == 200
    r = ben.post(f"/api/certificates/{cert}/fields/{path}",
                 json={"action": "correct", "value": "GL-BEN", "version": version},
                 headers={"x-csrf-token": _csrf(ben)})
    assert r.status_code == 409
    assert r.json()["detail"]["current"]["value"] == "GL-ANA"
    # The page form says so too, and shows the new value.
    page = ben.get(f"/certificates/{cert}").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = ben.post(f"/certificates/{cert}/fields", data={
        "csrf": token, "path": path, "action": "correct", "value": "GL-BEN",
        "version": str(version)})
    assert "Someone else changed" in r.text and "GL-ANA" in r.text
    fields = {f["path"]: f for f in ana.get(f"/api/certificates/{cert}").json()["fields"]}
    assert fields[path]["value"] == "GL-ANA"


def test_logout_ends_the_session(site):
    client = _login(site["app"])
    page = client.get("/").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/session").status_code == 401


def test_openapi_page_documents_the_api_offline_behind_sign_in(site):
    anon = TestClient(site["app"])
    assert anon.get("/openapi.json").status_code == 401
    client = _login(site["app"])
    spec = client.get("/openapi.json").json()
    assert "/api/certificates/{cert_id}/fields/{path}" in spec["paths"]
    page = client.get("/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert scripts and all(u.startswith("/") for u in scripts), scripts  # nothing from a CDN
    for url in scripts:
        assert client.get(url).status_code == 200, url


def test_user_add_from_stdin_and_a_duplicate_is_refused(tmp_path):
    from models.db import make_engine
    from models.users import sign_in

    url = f"sqlite:///{tmp_path / 'coi.db'}"
    script = Path(sys.executable).parent / "coi"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "coi.cli"]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    run = [*cmd, "user", "add", "carla", "--password-stdin", "--db", url]
    ok = subprocess.run(run, input=PASSWORD + "\n", capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    again = subprocess.run(run, input=PASSWORD + "\n", capture_output=True, text=True, env=env)
    assert again.returncode == 1 and "already a user" in again.stderr
    assert sign_in(make_engine(url), "carla", PASSWORD) is not None
    assert sign_in(make_engine(url), "carla", "wrong password!") is None
    from sqlalchemy import text

    with make_engine(url).connect() as c:
        stored = c.execute(text("SELECT password_hash FROM users")).scalar()
    assert stored.startswith("$argon2") and PASSWORD not in stored



@pytest.fixture(scope="module")
def read_site(tmp_path_factory):
    """Two certificates read by the real pipeline (a digital PDF and a 300-dpi scan turned
    upside down in the feeder), stored with their page images."""
    from fixtures.generate import make_certificate, write_sample
    from models.db import make_engine, migrate
    from models.store import save_result
    from models.users import add_user
    from pipeline.process import process_file
    from review.app import create_app

    work = tmp_path_factory.mktemp("read")
    url = f"sqlite:///{work / 'coi.db'}"
    engine = make_engine(url)
    migrate(engine)
    ids = {}
    for condition, seed, layout in (("digital", 20463, "acord"), ("rotated", 20461, "random")):
        path = write_sample(work / "gen", f"{condition}-{seed}",
                            make_certificate(seed, layout=layout), condition, seed)
        result = process_file(path)
        assert result.status == "processed", result.error
        ids[condition] = save_result(engine, result).certificate_id
    add_user(engine, "ana", PASSWORD)
    return {"app": create_app(url), "ids": ids}


@pytest.mark.parametrize("condition", ["digital", "rotated"])
def test_the_page_is_shown_with_a_box_over_every_field(read_site, condition):
    import cv2
    import numpy as np

    cert = read_site["ids"][condition]
    anon = TestClient(read_site["app"])
    assert anon.get(f"/certificates/{cert}/pages/1.jpg").status_code == 401
    client = _login(read_site["app"])
    r = client.get(f"/certificates/{cert}/pages/1.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img.shape == (1100, 850)  # a letter page, upright, at 100 dpi
    page = client.get(f"/certificates/{cert}").text
    fields = client.get(f"/api/certificates/{cert}").json()["fields"]
    boxed = [f for f in fields if f["page"] == 1 and f["bbox"][2] > f["bbox"][0]]
    assert len(boxed) >= 20
    for f in boxed:
        x0, y0 = round(f["bbox"][0] / 3), round(f["bbox"][1] / 3)
        w = max(2, round((f["bbox"][2] - f["bbox"][0]) / 3))
        style = f'style="left:{x0}px;top:{y0}px;width:{w}px'
        assert f'id="box-{f["path"]}"' in page and style in page, f["path"]
    # The insured's name box lies on ink: the image is the page the boxes refer to.
    name = next(f for f in boxed if f["path"] == "insured.name")
    x0, y0, x1, y1 = (round(v / 3) for v in name["bbox"])
    assert img[y0:y1, x0:x1].min() < 100


def test_a_list_and_a_flag_are_typed_as_such(read_site):
    client = _login(read_site["app"])
    cert = read_site["ids"]["digital"]
    fields = {f["path"]: f for f in client.get(f"/api/certificates/{cert}").json()["fields"]}
    flag = next(p for p, f in fields.items() if isinstance(f["value"], bool))
    token = {"x-csrf-token": _csrf(client)}
    r = client.post(f"/api/certificates/{cert}/fields/{flag}",
                    json={"action": "correct", "value": "yes"}, headers=token)
    assert r.status_code == 200 and r.json()["value"] is True
    r = client.post(f"/api/certificates/{cert}/fields/{flag}",
                    json={"action": "correct", "value": "perhaps"}, headers=token)
    assert r.status_code == 422
    listed = [p for p, f in fields.items() if isinstance(f["value"], list)]
    assert listed  # the automobile line's autos
    for path in listed:
        r = client.post(f"/api/certificates/{cert}/fields/{path}",
                        json={"action": "correct", "value": "owned, hired"}, headers=token)
        assert r.status_code == 200 and r.json()["value"] == ["owned", "hired"], r.text
