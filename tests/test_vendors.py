"""Vendors end to end on a real SQLite file: the registry commands, matching certificates to
vendors, reports, re-evaluation after a correction on the review page, after an ingest
(a real Prefect flow reading a generated certificate) and by the daily flow, with the
notices they send to a local webhook receiver.

Records for the command tests are stored through models.store, so what is under test is the
compliance side, not how well the pipeline reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_compliance import PROFILE, good_values
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
TODAY = dt.date.today()


def store(url: str, n: int, values: dict[str, Any], review: tuple[str, ...] = ()) -> int:
    from models.db import make_engine, migrate
    from models.store import save_result
    from pipeline.types import DocumentResult, Extraction, FieldValue

    fields = {p: FieldValue(p, v, 0.5 if p in review else 0.97, 1, (10, 20, 110, 40),
                            "needs_review" if p in review else "accepted")
              for p, v in values.items()}
    engine = make_engine(url)
    migrate(engine)
    result = DocumentResult(file=f"cert-{n}.pdf", path=f"/in/cert-{n}.pdf",
                            sha256=hashlib.sha256(f"vendor-{n}".encode()).hexdigest(),
                            media_type="application/pdf", pages=1, status="processed",
                            extractions=[Extraction(fields)])
    cid = save_result(engine, result).certificate_id
    engine.dispose()
    return cid


def values_for(insured: str, **changes: Any) -> dict[str, Any]:
    v = good_values(expires=TODAY + dt.timedelta(days=200)) | {
        "insured.name": insured, "certificate_date": (TODAY - dt.timedelta(days=10)).isoformat(),
        "insurers.A.name": "Travelers Casualty and Surety Company", "insurers.A.naic": "19038",
        "policies.general_liability.insurer": "A", "producer.name": "Harbor Point Insurance",
        "producer.phone": "(555) 010-2233", "producer.email": "certs@harborpoint.example"}
    for path in [p for p in v if p.startswith("policies.general_liability.")]:
        if "effective_date" in path:
            v[path] = (TODAY - dt.timedelta(days=165)).isoformat()
    return v | changes


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty database and two profiles: standard (GL, umbrella or excess, workers comp,
    the holder, a phrase) and light (GL only)."""
    from coi.settings import get_settings

    req = tmp_path / "requirements"
    req.mkdir()
    (req / "standard.yaml").write_text(PROFILE)
    (req / "light.yaml").write_text("lines:\n  general_liability:\n    limits: "
                                    "{each_occurrence: 1000000}\n")
    for k in [k for k in os.environ if k.startswith("COI_")]:
        monkeypatch.delenv(k)
    url = f"sqlite:///{tmp_path / 'coi.db'}"
    monkeypatch.setenv("COI_REQUIREMENTS", str(req))
    monkeypatch.setenv("COI_DATABASE_URL", url)
    get_settings.cache_clear()
    yield {"url": url, "tmp": tmp_path, "req": req}
    get_settings.cache_clear()


def cli(*args: str) -> Any:
    from coi.cli import app
    from coi.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def statuses(url: str) -> dict[str, str]:
    from models.db import make_engine
    from models.orm_vendors import Vendor, VendorStatus

    engine = make_engine(url)
    with Session(engine) as s:
        out = dict(s.execute(select(Vendor.name, VendorStatus.status)
                             .join(VendorStatus, VendorStatus.vendor_id == Vendor.id)).all())
    engine.dispose()
    return out


def test_registry_matching_and_reports_from_the_command_line(site):
    url = site["url"]
    good = values_for("ACME ROOFING, L.L.C.", **{"certificate_holder.name": "Example Holdings"})
    store(url, 1, good)
    store(url, 2, values_for("Northside Plumbing Inc"))  # the near-miss of Northgate
    low = values_for("Bright Star Electric",
                     **{"policies.general_liability.limits.each_occurrence": 500000})
    store(url, 3, low)

    ok(cli("vendor", "add", "Acme Roofing LLC", "--profile", "standard"))
    bad = cli("vendor", "add", "Zed Paving", "--profile", "nope")
    assert bad.exit_code == 1 and "no profile 'nope'" in bad.output

    csv_file = site["tmp"] / "vendors.csv"
    csv_file.write_text("name,profile,email\nNorthgate Plumbing Inc,light,\n"
                        "Bright Star Electric Co,standard,bs@example.com\n,standard,\n"
                        "Zed Paving,nope,\n")
    refused = cli("vendor", "import", str(csv_file))
    assert refused.exit_code == 1
    assert "line 4: no name" in refused.output and "line 5: 'Zed Paving': no profile 'nope'" \
        in refused.output
    csv_file.write_text("name,profile,email\nNorthgate Plumbing Inc,light,\n"
                        "Bright Star Electric Co,standard,bs@example.com\nZed Paving,,\n")
    assert "3 vendors added" in ok(cli("vendor", "import", str(csv_file))).output

    rows = {r["vendor"]: r for r in json.loads(ok(cli("report", "compliance", "-f", "json"))
                                              .output)}
    assert rows["Acme Roofing LLC"]["status"] == "compliant", rows["Acme Roofing LLC"]
    assert rows["Bright Star Electric Co"]["status"] == "deficient"
    assert rows["Bright Star Electric Co"]["reasons"] == [
        "general liability each occurrence 500,000 < required 1,000,000"]
    assert rows["Zed Paving"]["status"] == "missing"  # the default profile, no certificate
    # not attached silently, and not "missing" either: a reviewer must say
    assert rows["Northgate Plumbing Inc"]["status"] == "pending_review"
    assert rows["Northgate Plumbing Inc"]["reasons"] == [
        "certificate 2 (insured Northside Plumbing Inc) awaits a vendor match decision"]
    # the stored statuses agree with the report (and are what notices are sent for)
    assert statuses(url) == {name: r["status"] for name, r in rows.items()}

    matches = ok(cli("vendor", "matches")).output
    assert "Northside Plumbing Inc" in matches and "Northgate Plumbing Inc" in matches
    ok(cli("vendor", "attach", "2", "Northgate Plumbing Inc", "--by", "ana"))
    assert statuses(url)["Northgate Plumbing Inc"] == "compliant"
    assert "no matches wait" in ok(cli("vendor", "matches")).output

    shown = json.loads(ok(cli("vendor", "show", "acme roofing", "--json")).output)
    gl = next(p for p in shown["policies"] if p["line"] == "general_liability")
    assert (gl["carrier"], gl["naic"], gl["policy_number"]) == \
        ("Travelers Casualty and Surety Company", "19038", "GL-1")
    assert gl["producer"]["phone"] == "(555) 010-2233"
    assert gl["expiration_date"] == (TODAY + dt.timedelta(days=200)).isoformat()
    assert [h["insured_name"] for h in shown["history"]] == ["ACME ROOFING, L.L.C."]
    text = ok(cli("vendor", "show", "Acme Roofing LLC")).output
    assert "Travelers" in text and "(19038)" in text and "GL-1" in text

    csv_out = ok(cli("report", "compliance", "--format", "csv")).output.splitlines()
    assert csv_out[0] == "vendor,profile,status,reasons,certificates,next_expiration"
    assert csv_out[1].startswith("Bright Star Electric Co,standard,deficient,")
    # 200 days from when the certificates were made; one fewer if midnight came since.
    left = (TODAY + dt.timedelta(days=200) - dt.date.today()).days
    later = json.loads(ok(cli("report", "expiring", "--days", str(left), "-f", "json")).output)
    assert {r["insured"] for r in later} >= {"ACME ROOFING, L.L.C.", "Bright Star Electric"}
    assert {r["vendor"] for r in later} >= {"Acme Roofing LLC", "Bright Star Electric Co"}
    assert all(r["days_left"] == left for r in later)
    assert json.loads(ok(cli("report", "expiring", "--days", str(left - 1), "-f",
                             "json")).output) == []
    assert ok(cli("vendor", "list", "--as-of",
                  (TODAY + dt.timedelta(days=200)).isoformat())).output.count("expired") >= 3


def test_imports_are_all_or_nothing_and_names_must_be_told_apart(site):
    url = site["url"]
    csv_file = site["tmp"] / "vendors.csv"
    csv_file.write_text("name,profile\nAcme Roofing LLC,light\n")
    ok(cli("vendor", "import", str(csv_file)))
    # an existing name without --update: nothing of the file is added
    csv_file.write_text("name,profile\nDelta Drywall,light\nAcme Roofing LLC,standard\n")
    refused = cli("vendor", "import", str(csv_file))
    assert refused.exit_code == 1 and "'Acme Roofing LLC': vendor 'Acme Roofing LLC' (id 1)" \
        " exists already (import --update changes it)" in refused.output
    assert set(statuses(url)) == {"Acme Roofing LLC"}
    # --update with no profile keeps the vendor's; Excel's cp1252 and ';' are understood
    csv_file.write_bytes("Name;Email;\nAcme Roofing LLC;ops@acme.example;\n"
                         "Caf\u00e9 Paving;;\n".encode("cp1252"))
    assert "1 vendors added, 1 updated" in ok(cli("vendor", "import", str(csv_file),
                                                  "--update")).output
    shown = json.loads(ok(cli("vendor", "show", "Acme Roofing LLC", "--json")).output)
    assert (shown["profile"], shown["email"]) == ("light", "ops@acme.example")
    assert "Caf\u00e9 Paving" in statuses(url)
    # a name that normalizes like a vendor's would make their certificates indistinguishable
    twin = cli("vendor", "add", "ACME ROOFING, L.L.C.")
    assert twin.exit_code == 1 and "vendor 'Acme Roofing LLC' (id 1) exists already" in \
        twin.output
    bad_state = cli("notices", "--state", "bogus")
    assert bad_state.exit_code == 2 and "Traceback" not in bad_state.output


def test_an_unreviewed_name_or_a_turned_down_candidate_attaches_nothing(site):
    url = site["url"]
    ok(cli("vendor", "add", "Acme Roofing LLC", "--profile", "light"))
    unsure = store(url, 1, values_for("Acme Roofing LLC"), review=("insured.name",))
    siding = store(url, 2, values_for("Acme Roofing & Siding LLC"))
    ok(cli("evaluate"))
    rows = {r["vendor"]: r for r in json.loads(ok(cli("vendor", "list", "-f", "json")).output)}
    assert rows["Acme Roofing LLC"]["status"] == "pending_review"
    assert rows["Acme Roofing LLC"]["certificates"] == 0
    matches = ok(cli("vendor", "matches")).output
    assert f"{unsure} " in matches and f"{siding} " in matches
    # the reviewer confirms the name on the review page's model: it attaches then
    from models.db import make_engine
    from models.store import apply_correction

    apply_correction(make_engine(url), unsure, "insured.name", None, user="ana",
                     status="confirmed")
    # "not this vendor" for the other; a vendor added later gets it
    ok(cli("vendor", "attach", str(siding), "--not-candidate"))
    assert statuses(url) == {"Acme Roofing LLC": "compliant"}
    ok(cli("vendor", "add", "Acme Roofing & Siding LLC", "--profile", "light"))
    assert statuses(url)["Acme Roofing & Siding LLC"] == "compliant"
    shown = json.loads(ok(cli("vendor", "show", "Acme Roofing & Siding LLC", "--json")).output)
    assert [h["certificate_id"] for h in shown["history"]] == [siding]


def test_a_broken_profile_is_reported_and_changes_no_status(site):
    url = site["url"]
    store(url, 1, values_for("Acme Roofing LLC"))
    ok(cli("vendor", "add", "Acme Roofing LLC"))
    before = statuses(url)
    (site["req"] / "light.yaml").write_text("lines:\n  general_liability:\n    limits:\n"
                                           "      each_occurance: 1000000\n")
    broken = cli("profiles")
    assert broken.exit_code == 1
    assert "light.yaml:4: lines.general_liability.limits.each_occurance" in broken.output
    assert cli("evaluate").exit_code == 1
    assert statuses(url) == before
    # a deleted profile keeps its vendors' statuses (no notice either) and says so
    (site["req"] / "light.yaml").unlink()
    ok(cli("vendor", "add", "Delta Drywall"))
    moved = cli("vendor", "add", "Echo Glazing", "--profile", "light")
    assert moved.exit_code == 1 and "no profile 'light'" in moved.output
    (site["req"] / "standard.yaml").rename(site["req"] / "renamed.yaml")
    result = cli("evaluate")
    assert "no profile 'standard'; its status is kept" in result.output
    assert statuses(url) == before | {"Delta Drywall": "missing"}


def test_a_correction_on_the_review_page_re_evaluates_and_notifies(site, receiver, monkeypatch):
    from models.db import make_engine
    from models.users import add_user
    from review.app import create_app

    hook = receiver()
    monkeypatch.setenv("COI_WEBHOOK_URLS", hook.url())
    url = site["url"]
    path = "policies.general_liability.limits.each_occurrence"
    cid = store(url, 1, values_for("Acme Roofing LLC", **{path: 100000}), review=(path,))
    ok(cli("vendor", "add", "Acme Roofing LLC"))
    assert statuses(url) == {"Acme Roofing LLC": "pending_review"}
    assert hook.requests == []  # pending review is not a status anyone is told about

    add_user(make_engine(url), "ana", "correct horse battery")
    client = TestClient(create_app(url))
    page = client.get("/login")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    client.post("/login", data={"name": "ana", "password": "correct horse battery",
                                "csrf": token})
    csrf = client.get("/api/session").json()["csrf"]
    r = client.post(f"/api/certificates/{cid}/fields/{path}", json={"action": "confirm"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    # confirmed at 100,000: now decided, deficient, and the webhook was told once
    assert statuses(url) == {"Acme Roofing LLC": "deficient"}
    [sent] = hook.requests
    body = json.loads(sent["body"])
    assert (body["vendor"]["name"], body["status"], body["previous"]) == \
        ("Acme Roofing LLC", "deficient", "pending_review")
    assert "general liability each occurrence 100,000 < required 1,000,000" in \
        [x["message"] for x in body["reasons"]]
    [notice] = json.loads(ok(cli("notices", "-f", "json")).output)
    assert (notice["vendor"], notice["status"], notice["state"], notice["target"]) == \
        ("Acme Roofing LLC", "deficient", "sent", hook.url())

    dash = client.get("/dashboard", headers={"accept": "text/html"})
    assert dash.status_code == 200
    assert 'data-status="deficient"><span class="n">1</span>' in dash.text
    assert "100,000 &lt; required 1,000,000" in dash.text
    vendor = client.get("/vendors/1", headers={"accept": "text/html"})
    assert "Travelers Casualty and Surety Company" in vendor.text and "cert-1.pdf" in vendor.text
    # correcting it to 1,000,000 makes it compliant: not a notice status, nothing sent
    client.post(f"/api/certificates/{cid}/fields/{path}",
                json={"action": "correct", "value": "$1,000,000"},
                headers={"X-CSRF-Token": csrf})
    assert statuses(url) == {"Acme Roofing LLC": "compliant"}
    assert len(hook.requests) == 1


def test_the_daily_flow_notices_a_policy_that_expired_overnight(prefect_home, site, receiver,
                                                                monkeypatch):
    from coi.settings import get_settings
    from compliance.notify import deliver
    from compliance.registry import add_vendor
    from compliance.service import refresh
    from flows.compliance import compliance_flow
    from models.db import make_engine

    hook = receiver(500, 500)  # fails twice before accepting
    monkeypatch.setenv("COI_WEBHOOK_URLS", hook.url())
    monkeypatch.setenv("COI_NOTIFY_BACKOFF", "0.05")
    url = site["url"]
    v = values_for("Acme Roofing LLC")
    for path in [p for p in v if p.endswith(".expiration_date")]:
        v[path] = TODAY.isoformat()  # ends today (at 12:01 a.m.)
    store(url, 1, v)
    engine = make_engine(url)
    add_vendor(engine, "Acme Roofing LLC", "light")
    get_settings.cache_clear()
    refresh(engine, get_settings(), on=TODAY - dt.timedelta(days=1))  # as it was yesterday
    assert statuses(url) == {"Acme Roofing LLC": "expiring"}
    deliver(engine, get_settings())  # yesterday's notice (expiring)
    assert [json.loads(r["body"])["status"] for r in hook.requests] == ["expiring"] * 3
    hook.requests.clear()
    hook.codes = [500, 500]  # and fails twice again

    result = compliance_flow(db_url=url)
    assert result["changes"] == [{"vendor": "Acme Roofing LLC", "previous": "expiring",
                                  "status": "expired"}]
    assert (result["sent"], result["failed"]) == (1, 0)
    assert len(hook.requests) == 3  # two failures, then delivered
    assert {json.loads(r["body"])["status"] for r in hook.requests} == {"expired"}
    again = compliance_flow(db_url=url)  # nothing changed: nothing sent again
    assert again["changes"] == [] and len(hook.requests) == 3
    engine.dispose()


def test_ingest_attaches_evaluates_and_notifies(prefect_home, site, receiver, monkeypatch):
    from fixtures.generate import make_certificate, write_sample
    from flows.ingest import ingest_flow
    from models.db import make_engine
    from models.orm_vendors import VendorMatch

    hook = receiver()
    monkeypatch.setenv("COI_WEBHOOK_URLS", hook.url())
    (site["req"] / "strict.yaml").write_text(
        "lines:\n  general_liability:\n    limits: {each_occurrence: 90000000}\n")
    cert = make_certificate(20500, layout="acord")
    insured = cert.truth["insured"]["name"]
    path = write_sample(site["tmp"] / "in", "digital-20500", cert, "digital", 20500)
    ok(cli("vendor", "add", insured.upper().replace(",", ""), "--profile", "strict"))
    assert statuses(site["url"])[insured.upper().replace(",", "")] == "missing"

    # What the certificate's truth makes of the vendor today (its dates are fixed, today
    # moves): the status the ingest must record from what it read.
    from compliance.evaluate import CertView, evaluate
    from compliance.profiles import load_profile
    from pipeline.record import flatten

    truth = flatten(cert.truth)
    expected = evaluate(load_profile(site["req"] / "strict.yaml"), [CertView(
        1, None, dt.datetime.now(dt.UTC), truth, dict.fromkeys(truth, "accepted"))], TODAY)
    assert expected.status in ("deficient", "expired")  # either way a notice is sent

    [summary] = ingest_flow(paths=[str(path)], db_url=site["url"], workers=1)
    assert summary["status"] == "processed"
    engine = make_engine(site["url"])
    with Session(engine) as s:
        [m] = s.scalars(select(VendorMatch)).all()
    engine.dispose()
    assert m.state == "attached" and m.insured_name == insured
    assert list(statuses(site["url"]).values()) == [expected.status]
    [sent] = hook.requests
    body = json.loads(sent["body"])
    assert (body["previous"], body["status"]) == ("missing", expected.status)
    assert [r["message"] for r in body["reasons"]] == [r.message for r in expected.reasons]
    # the same bytes again: a duplicate, no change, no second notice
    shutil.copy(path, site["tmp"] / "again.pdf")
    ingest_flow(paths=[str(site["tmp"] / "again.pdf")], db_url=site["url"], workers=1)
    assert len(hook.requests) == 1


def test_two_processes_evaluating_at_once_notify_a_change_once(site, receiver):
    import subprocess
    import sys

    from compliance.registry import add_vendor
    from models.db import make_engine

    hook = receiver()
    url = site["url"]
    low = values_for("Acme Roofing LLC",
                     **{"policies.general_liability.limits.each_occurrence": 500000})
    store(url, 1, low)
    add_vendor(make_engine(url), "Acme Roofing LLC", "light")  # not evaluated yet
    script = Path(sys.executable).parent / "coi"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"COI_WEBHOOK_URLS": hook.url(), "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([str(script), "evaluate"], env=env, cwd=site["tmp"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    # one of them saw the change, the other found it recorded; one notice, sent once
    assert sum("new -> deficient" in o for o in outputs) == 1, outputs
    assert statuses(url) == {"Acme Roofing LLC": "deficient"}
    assert len(hook.requests) == 1
    assert len(json.loads(ok(cli("notices", "-f", "json")).output)) == 1


def test_turned_down_candidates_add_up_and_a_corrected_name_is_a_new_question(site):
    from models.db import make_engine
    from models.store import apply_correction

    url = site["url"]
    for name in ("Acme Roofing LLC", "Acme Roofing Siding Co", "Bravo Paving LLC"):
        ok(cli("vendor", "add", name, "--profile", "light"))
    cid = store(url, 1, values_for("Acme Roofing & Siding Holdings"))
    ok(cli("evaluate"))
    seen = []
    for _ in range(3):  # each "not this vendor" takes one candidate out for good
        [row] = json.loads(ok(cli("vendor", "matches", "-f", "json")).output) or [None]
        if row is None:
            break
        seen.append(row["candidate"])
        ok(cli("vendor", "attach", str(cid), "--not-candidate"))
    assert len(seen) == len(set(seen)) >= 1, seen  # never offered again
    ok(cli("vendor", "attach", str(cid), "Bravo Paving LLC", "--by", "ana"))
    assert statuses(url)["Bravo Paving LLC"] == "compliant"
    # the name was misread: corrected, the certificate is matched afresh, and Bravo, which
    # only had it by a decision about the old name, loses it
    apply_correction(make_engine(url), cid, "insured.name", "Acme Roofing LLC", user="ana")
    ok(cli("evaluate"))
    assert statuses(url)["Acme Roofing LLC"] == "compliant"
    assert statuses(url)["Bravo Paving LLC"] == "missing"


def test_a_date_that_is_no_date_keeps_reports_and_the_dashboard_up(site):
    url = site["url"]
    path = "policies.general_liability.expiration_date"
    store(url, 1, values_for("Acme Roofing LLC", **{path: "12/31/2O26"}), review=(path,))
    ok(cli("vendor", "add", "Acme Roofing LLC", "--profile", "light"))
    assert json.loads(ok(cli("report", "expiring", "-f", "json")).output) == []
    rows = json.loads(ok(cli("report", "compliance", "-f", "json")).output)
    assert rows[0]["status"] == "pending_review" and rows[0]["next_expiration"] is None


def test_an_unquoted_comma_in_a_csv_name_is_refused(site):
    csv_file = site["tmp"] / "v.csv"
    csv_file.write_text("name,email\nAcme Roofing, LLC,ops@acme.example\n")
    refused = cli("vendor", "import", str(csv_file))
    assert refused.exit_code == 1 and "line 2: more values than columns" in refused.output


def test_a_settled_expiry_is_notified_while_another_field_awaits_review(site, receiver,
                                                                         monkeypatch):
    from compliance.registry import add_vendor
    from models.db import make_engine

    hook = receiver()
    monkeypatch.setenv("COI_WEBHOOK_URLS", hook.url())
    url = site["url"]
    v = values_for("Acme Roofing LLC")
    for path in [p for p in v if p.endswith(".expiration_date")]:
        v[path] = (TODAY + dt.timedelta(days=12)).isoformat()
    store(url, 1, v, review=("policies.general_liability.limits.each_occurrence",))
    add_vendor(make_engine(url), "Acme Roofing LLC", "light")
    ok(cli("evaluate"))
    assert statuses(url) == {"Acme Roofing LLC": "pending_review"}  # the limit is unsettled
    [sent] = hook.requests  # ... but its policy ends in 12 days whatever the limit is
    body = json.loads(sent["body"])
    assert (body["status"], body["alert"]) == ("pending_review", "expiring")
    ok(cli("evaluate"))
    assert len(hook.requests) == 1  # once
