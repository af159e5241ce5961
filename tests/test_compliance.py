"""Compliance rules on the edge cases of issue 6: a vendor's certificates against a profile
(compliance.evaluate, pure) and vendor matching by the insured's name (compliance.match)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from compliance.evaluate import CertView, evaluate, first_amount
from compliance.match import match, normalize_name
from compliance.profiles import load_profile

TODAY = dt.date(2026, 12, 1)

PROFILE = """\
expiring_days: 30
certificate_holder: Example Holdings LLC
description_must_contain: [primary and non-contributory]
lines:
  general_liability:
    limits: {each_occurrence: 1000000, general_aggregate: 2000000}
    additional_insured: true
    subrogation_waived: true
    occurrence_basis: occurrence
  umbrella_liability:
    limits: {each_occurrence: 5000000}
    accept: [umbrella_liability, excess_liability]
  workers_compensation:
    per_statute: true
    limits: {el_each_accident: 500000}
"""


@pytest.fixture
def profile(tmp_path: Path):
    path = tmp_path / "standard.yaml"
    path.write_text(PROFILE)
    return load_profile(path)


def good_values(expires: dt.date = dt.date(2027, 6, 1)) -> dict[str, Any]:
    v: dict[str, Any] = {
        "insured.name": "Acme Roofing LLC",
        "certificate_holder.name": "Example Holdings, LLC",
        "description_of_operations": "Certificate holder is additional insured on a Primary "
                                     "& Non-Contributory basis per written contract.",
    }
    gl = "policies.general_liability"
    v |= {f"{gl}.policy_number": "GL-1", f"{gl}.effective_date": "2026-06-01",
          f"{gl}.expiration_date": expires.isoformat(), f"{gl}.additional_insured": True,
          f"{gl}.subrogation_waived": True, f"{gl}.occurrence_basis": "occurrence",
          f"{gl}.limits.each_occurrence": 1000000, f"{gl}.limits.general_aggregate": 2000000}
    ex = "policies.excess_liability"
    v |= {f"{ex}.policy_number": "XS-1", f"{ex}.effective_date": "2026-06-01",
          f"{ex}.expiration_date": expires.isoformat(), f"{ex}.limits.each_occurrence": 5000000}
    wc = "policies.workers_compensation"
    v |= {f"{wc}.policy_number": "WC-1", f"{wc}.effective_date": "2026-06-01",
          f"{wc}.expiration_date": expires.isoformat(), f"{wc}.per_statute": True,
          f"{wc}.limits.el_each_accident": 500000}
    return v


def view(values: dict[str, Any], cid: int = 1, date: str = "2026-06-01",
         review: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> CertView:
    values = {p: x for p, x in values.items() if not any(p.startswith(d) for d in drop)}
    statuses = {p: "needs_review" if p in review else "accepted" for p in values}
    return CertView(cid, dt.date.fromisoformat(date), dt.datetime(2026, 6, 2, tzinfo=dt.UTC),
                    values, statuses)


def messages(ev) -> list[str]:
    return [r.message for r in ev.reasons]


def test_limits_exactly_at_the_minimum_are_compliant(profile):
    ev = evaluate(profile, [view(good_values())], TODAY)
    assert (ev.status, ev.reasons) == ("compliant", [])
    assert ev.chosen["umbrella_liability"] == (1, "excess_liability")  # accepted in its place


def test_a_limit_below_the_minimum_names_line_requirement_and_value(profile):
    v = good_values() | {"policies.general_liability.limits.each_occurrence": 500000}
    ev = evaluate(profile, [view(v)], TODAY)
    assert ev.status == "deficient"
    assert messages(ev) == ["general liability each occurrence 500,000 < required 1,000,000"]


def test_a_missing_line_is_deficient(profile):
    ev = evaluate(profile, [view(good_values(), drop=("policies.workers_compensation",))],
                  TODAY)
    assert ev.status == "deficient"
    assert messages(ev) == ["workers compensation not on any certificate; required"]


def test_claims_made_fails_an_occurrence_requirement_only(profile, tmp_path):
    v = good_values() | {"policies.general_liability.occurrence_basis": "claims_made"}
    ev = evaluate(profile, [view(v)], TODAY)
    assert messages(ev) == ["general liability claims-made; required occurrence"]
    either = tmp_path / "either.yaml"
    either.write_text(PROFILE.replace("    occurrence_basis: occurrence\n", ""))
    assert evaluate(load_profile(either), [view(v)], TODAY).status == "compliant"


def test_expired_yesterday_and_on_its_expiration_day(profile):
    for end in (TODAY - dt.timedelta(days=1), TODAY):
        ev = evaluate(profile, [view(good_values(expires=end))], TODAY)
        assert ev.status == "expired"
        assert f"general liability policy GL-1 expired {end.isoformat()}" in messages(ev)


def test_expiring_on_the_boundary_day_but_not_a_day_later(profile):
    on_boundary = evaluate(profile, [view(good_values(TODAY + dt.timedelta(days=30)))], TODAY)
    assert on_boundary.status == "expiring"
    assert "general liability policy GL-1 expires 2026-12-31, in 30 days" in \
        messages(on_boundary)
    later = evaluate(profile, [view(good_values(TODAY + dt.timedelta(days=31)))], TODAY)
    assert later.status == "compliant"


def test_a_value_awaiting_review_never_decides(profile):
    path = "policies.general_liability.limits.each_occurrence"
    low = good_values() | {path: 100000}
    ev = evaluate(profile, [view(low, review=(path,))], TODAY)
    assert ev.status == "pending_review"  # not deficient on an unreviewed value
    assert messages(ev) == ["general liability each occurrence needs review (read '100,000')"]
    # ... nor compliant on one
    ev = evaluate(profile, [view(good_values(), review=(path,))], TODAY)
    assert ev.status == "pending_review"
    # a reviewed value decides: confirmed low is deficient
    confirmed = view(low)
    confirmed.statuses[path] = "confirmed"
    assert evaluate(profile, [confirmed], TODAY).status == "deficient"


def test_a_settled_deficiency_outranks_a_pending_question(profile):
    v = good_values() | {"policies.general_liability.limits.general_aggregate": 1000000}
    ev = evaluate(profile, [view(v, review=("policies.workers_compensation.per_statute",))],
                  TODAY)
    assert ev.status == "deficient"
    assert any("needs review" in m for m in messages(ev))  # still listed


def test_the_newest_certificate_per_line_wins(profile):
    old = good_values() | {"policies.general_liability.limits.each_occurrence": 500000}
    new_gl_only = {p: x for p, x in good_values().items()
                   if not p.startswith(("policies.workers", "policies.excess"))}
    certs = [view(old, cid=1, date="2026-01-10"), view(new_gl_only, cid=2, date="2026-06-01")]
    ev = evaluate(profile, certs, TODAY)
    assert ev.status == "compliant"
    assert ev.chosen["general_liability"] == (2, "general_liability")
    assert ev.chosen["workers_compensation"] == (1, "workers_compensation")
    # and the other way round the older, low limit is not looked at
    certs = [view(old, cid=1, date="2026-08-01"), view(new_gl_only, cid=2, date="2026-06-01")]
    assert evaluate(profile, certs, TODAY).status == "deficient"


def test_marks_holder_and_wording(profile):
    v = good_values() | {
        "policies.general_liability.additional_insured": False,
        "policies.workers_compensation.per_statute": None,
        "certificate_holder.name": "Other Owner Inc",
        "description_of_operations": "Roofing work.",
    }
    ev = evaluate(profile, [view(v)], TODAY)
    assert ev.status == "deficient"
    assert messages(ev) == [
        "general liability additional insured not marked; required",
        "workers compensation per statute not marked; required",
        "certificate holder Other Owner Inc is not Example Holdings LLC",
        "description of operations lacks 'primary and non-contributory'",
    ]


def test_not_yet_in_force_and_no_certificate(profile):
    v = good_values() | {"policies.general_liability.effective_date": "2027-01-01"}
    ev = evaluate(profile, [view(v)], TODAY)
    assert "general liability policy GL-1 starts 2027-01-01 (not in force yet)" in messages(ev)
    assert evaluate(profile, [], TODAY).status == "missing"


def test_an_other_line_is_found_by_its_printed_type(tmp_path):
    path = tmp_path / "pro.yaml"
    path.write_text("lines:\n  professional:\n    line: other\n    description: professional\n"
                    "    limits: {limit: 1000000}\n")
    pro = load_profile(path)
    base = {"policies.other.description": "Pollution Liability",
            "policies.other.limits.limit": "$5,000,000",
            "policies.other.expiration_date": "2027-06-01",
            "policies.other#2.description": "PROFESSIONAL LIABILITY",
            "policies.other#2.limits.limit": "$1M EACH CLAIM / $2M AGG",
            "policies.other#2.expiration_date": "2027-06-01"}
    assert evaluate(pro, [view(base)], TODAY).status == "compliant"
    low = base | {"policies.other#2.limits.limit": "500,000 per claim"}
    assert messages(evaluate(pro, [view(low)], TODAY)) == \
        ["professional limit 500,000 < required 1,000,000"]
    assert first_amount("$1.5M") == 1500000 and first_amount("INCLUDED") is None


# -- matching -------------------------------------------------------------------------------

VENDORS = {1: "Acme Roofing LLC", 2: "Northgate Plumbing, Inc.", 3: "Smith & Sons Construction",
           4: "Bright Star Electric Co."}


def _match(name: str):
    return match(name, {i: normalize_name(n) for i, n in VENDORS.items()})


@pytest.mark.parametrize("insured, vendor", [
    ("ACME ROOFING, L.L.C.", 1),  # legal suffix and punctuation
    ("Acme Roofing Inc", 1),  # another legal form
    ("The Acme Roofing Company", 1),
    ("Acme Rooflng LLC", 1),  # OCR: l for i
    ("ACME R00FING", 1),  # OCR: zeros
    ("Acme Roofinq LLC", 1),  # a letter misread
    ("Roofing Acme Inc.", 1),  # words in another order
    ("Smith and Sons Constr. Corp.", 3),
    ("John Smith DBA Bright Star Electric", 4),  # trade name after DBA
])
def test_suffix_and_typo_variants_attach(insured, vendor):
    m = _match(insured)
    assert (m.state, m.vendor_id) == ("attached", vendor), m


@pytest.mark.parametrize("insured, candidate", [
    ("Northside Plumbing Inc", 2),  # the near-miss: another company, one word apart
    ("Acme Roofing & Siding LLC", 1),  # a vendor's name plus more words
    ("Acme Roofing 2 LLC", 1),  # a number more
    ("Acme Rofing LLC", 1),  # a letter fewer: Johnston and Johnson are two companies
    ("Bright Star Electrical", 4),  # a word form more: maybe another company
    ("Northgate Plumbinq Services", 2),  # a misread letter and a word more
])
def test_a_near_miss_goes_to_review_not_attached(insured, candidate):
    m = _match(insured)
    assert (m.state, m.vendor_id) == ("review", candidate), m


def test_a_stranger_is_unmatched_and_two_close_vendors_are_a_question():
    assert _match("Zenith Paving Corp").state == "unmatched"
    close = match("Acme Roofing", {1: normalize_name("Acme Roofing LLC"),
                                   2: normalize_name("Acme Roofing Inc.")})
    assert close.state == "review"  # equal names of two vendors: never guessed


def _renewal(values: dict[str, Any], starts: dt.date, number: str = "GL-2") -> dict[str, Any]:
    """The certificate's GL policy again as ``general_liability#2``, starting ``starts``."""
    gl = {p: x for p, x in values.items() if p.startswith("policies.general_liability.")}
    out = {p.replace("general_liability.", "general_liability#2.", 1): x for p, x in gl.items()}
    out["policies.general_liability#2.policy_number"] = number
    out["policies.general_liability#2.effective_date"] = starts.isoformat()
    out["policies.general_liability#2.expiration_date"] = \
        starts.replace(year=starts.year + 1).isoformat()
    return values | out


def test_the_policy_in_force_counts_not_its_renewal(profile):
    ends = TODAY + dt.timedelta(days=14)
    current = good_values(expires=ends)
    both = _renewal(current, ends)  # one certificate listing the policy and its renewal
    ev = evaluate(profile, [view(both)], TODAY)
    assert ev.chosen["general_liability"] == (1, "general_liability")
    # GL is not expiring (its renewal is on file and meets the profile); the others are.
    assert [m for m in messages(ev) if "general liability" in m] == []
    assert ev.status == "expiring"
    # a renewal certificate that arrives before it starts does not hide the one in force
    early = view(_renewal({}, ends) | {"insured.name": "Acme Roofing LLC"}, cid=2,
                 date=TODAY.isoformat())
    ev = evaluate(profile, [view(good_values(expires=ends), date="2026-06-01"), early], TODAY)
    assert ev.chosen["general_liability"] == (1, "general_liability")
    assert not any("not in force" in m for m in messages(ev))
    # a renewal that falls short leaves the current policy expiring
    short = _renewal(current, ends)
    short["policies.general_liability#2.limits.each_occurrence"] = 500000
    assert "general liability policy GL-1 expires" in " ".join(
        messages(evaluate(profile, [view(short)], TODAY)))


def test_of_two_policies_of_a_line_the_one_that_meets_it_counts(profile):
    v = _renewal(good_values(), dt.date(2026, 6, 1), number="GL-LOW")
    v["policies.general_liability#2.limits.each_occurrence"] = 100000  # runs longer, too low
    ev = evaluate(profile, [view(v)], TODAY)
    assert ev.status == "compliant" and ev.chosen["general_liability"][1] == "general_liability"


def test_unreviewed_wording_and_start_date_decide_nothing(profile):
    path = "description_of_operations"
    ev = evaluate(profile, [view(good_values(), review=(path,))], TODAY)
    assert ev.status == "pending_review"  # the phrase is there, but unreviewed
    start = "policies.general_liability.effective_date"
    ev = evaluate(profile, [view(good_values(), review=(start,))], TODAY)
    assert ev.status == "pending_review"
    assert messages(ev) == ["general liability effective date needs review (read "
                            "'2026-06-01')"]


def test_a_certificate_awaiting_a_match_decision_keeps_the_vendor_pending(profile):
    ev = evaluate(profile, [], TODAY, awaiting=[(7, "Acme Roofing & Siding")])
    assert ev.status == "pending_review"
    assert messages(ev) == ["certificate 7 (insured Acme Roofing & Siding) awaits a vendor "
                            "match decision"]
    assert evaluate(profile, [view(good_values())], TODAY, awaiting=[(7, None)]).status == \
        "pending_review"


@pytest.mark.parametrize("text, amount", [
    ("$1M EACH CLAIM / $2M AGG", 1000000), ("$2 million per claim", 2000000),
    ("Ded $5,000 / Limit $1,000,000", 1000000), ("1.000.000", 1000000),
    ("$ 1,000,000.00", 1000000), ("500K", 500000), ("INCLUDED", None),
    ("$5,000 deductible; $1,000,000 limit", 1000000), ("$1,000,000 M/E", 1000000),
    ("Policy 2024: $1M", 1000000), ("$4.1M", 4100000),
])
def test_the_amount_of_a_printed_limit(text, amount):
    assert first_amount(text) == amount


def test_a_renewal_after_a_gap_does_not_cover_the_expiry(profile):
    ends = TODAY + dt.timedelta(days=10)
    later = _renewal(good_values(expires=ends), TODAY + dt.timedelta(days=200))
    assert "general liability policy GL-1 expires" in " ".join(
        messages(evaluate(profile, [view(later)], TODAY)))


def test_unreviewed_dates_choose_neither_the_policy_nor_the_certificate(profile):
    # P1 in force but too low; P2 fine, its expiration misread into the past, unreviewed
    v = _renewal(good_values(), dt.date(2026, 6, 1), number="GL-2")
    v["policies.general_liability.limits.each_occurrence"] = 100000
    v["policies.general_liability#2.expiration_date"] = "2025-12-01"
    ev = evaluate(profile, [view(v, review=("policies.general_liability#2.expiration_date",))],
                  TODAY)
    assert ev.status == "pending_review", messages(ev)
    # a newer certificate whose date was misread as old still counts as the newer one
    old = good_values() | {"policies.general_liability.limits.each_occurrence": 100000}
    new = view(good_values() | {"certificate_date": "2016-06-01"}, cid=2, date="2016-06-01",
               review=("certificate_date",))
    new = CertView(2, dt.date(2016, 6, 1), dt.datetime(2026, 6, 3, tzinfo=dt.UTC),
                   new.values, new.statuses)
    ev = evaluate(profile, [view(old, cid=1, date="2026-01-10"), new], TODAY)
    assert ev.chosen["general_liability"] == (2, "general_liability")
