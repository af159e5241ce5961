"""The review page in real headless Chromium (Debian's package, driven by Playwright), served
by the real ``coi review`` command: sign in, open a certificate, correct one field and
confirm another by keyboard, then check the database and the export.  A screenshot of the
certificate view is saved in the test's folder (certificate.png)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
# Without the background-networking flags Chromium keeps dialing out, and this machine's
# closed network refuses it many times a second.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from sqlalchemy import text

    from fixtures.generate import make_certificate, write_sample
    from models.db import make_engine, migrate
    from models.store import save_result
    from models.users import add_user
    from pipeline.process import process_file

    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed (make test does it)"
    work = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{work / 'coi.db'}"
    engine = make_engine(url)
    migrate(engine)
    path = write_sample(work / "gen", "digital-20470", make_certificate(20470, layout="acord"),
                        "digital", 20470)
    result = process_file(path)
    assert result.status == "processed", result.error
    cert = save_result(engine, result).certificate_id
    other = write_sample(work / "gen", "digital-20471", make_certificate(20471, layout="acord"),
                         "digital", 20471)
    second_cert = save_result(engine, process_file(other)).certificate_id
    # Two fields for review (a digital certificate is read surely; the page is what is
    # under test here, not the reader).
    review = ("certificate_date", "insured.name")
    with engine.begin() as c:
        for c_id in (cert, second_cert):
            c.execute(text("UPDATE fields SET status = 'needs_review' WHERE certificate_id "
                           "= :c AND path IN ('certificate_date', 'insured.name')"),
                      {"c": c_id})
    add_user(engine, "ana", PASSWORD)
    engine.dispose()
    port = _free_port()
    script = Path(sys.executable).parent / "coi"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "coi.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COI_"))}
    env["PYTHONPATH"] = str(REPO)
    (work / "requirements").mkdir()
    (work / "requirements" / "gl.yaml").write_text(
        "expiring_days: 30\nlines:\n  general_liability:\n    limits: "
        "{each_occurrence: 1000000}\n")
    env["COI_REQUIREMENTS"] = str(work / "requirements")
    log = open(work / "review.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*cmd, "review", "--db", url, "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/login", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, (work / "review.log").read_text()
            assert time.monotonic() < deadline, "coi review did not start"
            time.sleep(0.3)
    yield {"base": base, "url": url, "cert": cert, "next": second_cert, "review": review,
           "work": work, "requirements": work / "requirements"}
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_sign_in_correct_and_confirm_by_keyboard(served, tmp_path):
    from playwright.sync_api import sync_playwright

    from models.db import make_engine
    from models.export import iter_records
    from models.store import list_fields

    base, cert = served["base"], served["cert"]
    with sync_playwright() as pw:  # Playwright gives the browser a new, empty profile
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(base + "/")
            assert page.url.endswith("/login")
            page.fill("input[name=name]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            page.click(f"a[href='/certificates/{cert}']")
            page.wait_for_selector("tr.field.current")
            first = page.get_attribute("tr.field.current", "data-path")
            assert first in served["review"]
            assert page.is_visible(f"[id='box-{first}'].current")
            # The page is zoomed in around the chosen field's box (1.8 times, drawn).
            page.wait_for_timeout(300)  # the zoom's transition
            box = page.locator(f"[id='box-{first}']").bounding_box()
            natural = page.evaluate(f"document.getElementById('box-{first}').offsetWidth")
            assert box["width"] > 1.5 * natural
            page.keyboard.press("z")
            page.wait_for_timeout(300)
            box = page.locator(f"[id='box-{first}']").bounding_box()
            assert abs(box["width"] - natural) < 2
            page.keyboard.press("z")
            page.screenshot(path=str(tmp_path / "certificate.png"), full_page=True)

            # Tab and Shift-Tab go between the fields for review.
            page.keyboard.press("Tab")
            assert page.get_attribute("tr.field.current", "data-path") != first
            page.keyboard.press("Shift+Tab")
            assert page.get_attribute("tr.field.current", "data-path") == first
            # e: edit the selected field's value, Enter saves it as corrected.
            page.keyboard.press("e")
            page.keyboard.press("Control+A")
            page.keyboard.type("3/4/26" if first == "certificate_date" else "Acme Roofing LLC")
            page.keyboard.press("Enter")
            page.wait_for_load_state("load")
            page.wait_for_selector(f"tr.field.current[data-path='{first}']")
            # Tab: the other field for review; Enter confirms it.
            page.keyboard.press("Tab")
            second = page.get_attribute("tr.field.current", "data-path")
            assert second in served["review"] and second != first
            page.keyboard.press("Enter")
            page.wait_for_load_state("load")
            page.wait_for_selector(f"[id='f-{second}'].status-confirmed")
            assert page.is_visible(f"[id='f-{first}'].status-corrected")
            assert "ana" in page.inner_text("table.trail")
            page.keyboard.press("n")  # the next certificate
            page.wait_for_url(f"{base}/certificates/{served['next']}")
        finally:
            browser.close()

    engine = make_engine(served["url"])
    fields = {f.path: f for f in list_fields(engine, cert)}
    assert fields[first].status == "corrected" and fields[second].status == "confirmed"
    expected = "2026-03-04" if first == "certificate_date" else "Acme Roofing LLC"
    assert fields[first].value == expected
    record = next(r for r in iter_records(engine) if r["source"]["file"] == "digital-20470.pdf")
    assert record["fields"][first]["status"] == "corrected"
    assert record["fields"][second]["status"] == "confirmed"
    assert (tmp_path / "certificate.png").stat().st_size > 10_000
    shutil.copy(tmp_path / "certificate.png", served["work"] / "certificate.png")


def test_the_dashboard_shows_statuses_the_chart_and_decides_a_match(served, tmp_path):
    """Vendors are added behind the page's back; the page evaluates them as it shows them."""
    from playwright.sync_api import sync_playwright
    from sqlalchemy import select, text

    from coi.settings import Settings
    from compliance.registry import add_vendor
    from compliance.service import refresh
    from models.db import make_engine
    from models.orm import Certificate
    from models.orm_vendors import VendorMatch

    engine = make_engine(served["url"])
    with engine.begin() as c:
        # The insured names as confirmed (whether or not the other test ran first): a name
        # still to review would attach to nobody.
        c.execute(text("UPDATE fields SET status = 'confirmed' WHERE path = 'insured.name' "
                       "AND status = 'needs_review'"))
        # one certificate's policies end within the chart's 90 days
        c.execute(text("UPDATE fields SET value = json_quote(date('now', '+20 days')) "
                       "WHERE certificate_id = :c AND path LIKE '%.expiration_date'"),
                  {"c": served["next"]})
    from sqlalchemy.orm import Session

    from models.store import rebuild_projection

    with Session(engine) as s, s.begin():
        rebuild_projection(s, s.get(Certificate, served["next"]))
        names = dict(s.execute(select(Certificate.id, Certificate.insured_name)).all())
    near = names[served["next"]] + " Holdings Group"  # a vendor whose name is one more word
    add_vendor(engine, names[served["cert"]], "gl")
    add_vendor(engine, near, "gl")
    add_vendor(engine, "Nobody Yet Ltd", "gl")
    refresh(engine, Settings(requirements=served["requirements"]))
    with Session(engine) as s:
        m = s.get(VendorMatch, served["next"])
        assert m.state == "review", (m.state, m.score)

    base = served["base"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base + "/login")
            page.fill("input[name=name]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            page.click("nav.main a[href='/dashboard']")
            page.wait_for_selector("ul.counts")
            counts = {li.get_attribute("data-status"): int(li.inner_text().split()[0])
                      for li in page.query_selector_all("ul.counts li")}
            # the near-miss's vendor awaits the decision; the third has no certificate
            assert (counts["missing"], counts["pending_review"]) == (1, 1), counts
            assert sum(counts.values()) == 3
            weeks = page.query_selector_all("svg g.week")
            assert len(weeks) == 13
            assert sum(int(w.get_attribute("data-count")) for w in weeks) == 1
            assert int(weeks[2].get_attribute("data-count")) == 1  # in 20 days: third week
            near_row = page.locator(f"table.vendors tr[data-vendor='{near}']")
            assert near_row.locator("td.status").inner_text() == "pending review"
            assert "awaits a vendor match decision" in near_row.inner_text()
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            # The near-miss waits for a reviewer; attaching it evaluates the vendor again.
            row = page.locator(f"table.matches tr[data-certificate='{served['next']}']")
            row.locator("button[value=attach]").click()
            page.wait_for_load_state("load")
            assert page.query_selector("table.matches") is None
            vendor_row = page.locator(f"table.vendors tr[data-vendor='{near}']")
            assert vendor_row.locator("td.status").inner_text() == "expiring"
            assert "expires" in vendor_row.locator("ul.reasons").inner_text()
            vendor_row.locator("a").click()
            page.wait_for_selector("table.history")
            history = page.inner_text("table.history")
            assert "digital-20471.pdf" in history and "attached by ana" in history
            assert page.query_selector_all("table.policies tbody tr")
            page.screenshot(path=str(served["work"] / "vendor.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    shutil.copy(tmp_path / "dashboard.png", served["work"] / "dashboard.png")
