"""Cross-field checks and the plausibility of OCR'd text lower confidence, never values."""

import pytest

from extractors.validate import assign_status, cross_check, plausibility, text_plausibility
from pipeline.types import FieldValue


def _f(path, value, conf=0.99):
    return FieldValue(path=path, value=value, confidence=conf, page=1, bbox=(0, 0, 1, 1))


@pytest.mark.parametrize("text", ["We-tbrook Hospitality Group", "4906 mILL DR",
                                  "Brandywine Cr™™ercial Realty", "Harbor Point Agency, Inc",
                                  "5544 Washington Pike, Floor=11",
                                  "HARBORVIEW PAVING CONTRACTORS. INC.",
                                  "Red Maple Excavating Co"])
def test_misread_text_is_less_plausible(text):
    factor, why = text_plausibility(text)
    assert factor < 0.9 and why


@pytest.mark.parametrize("text", ["Smith-Jones Roofing LLC", "McDonald Electric",
                                  "O'Brien Plumbing Co.", "TRI-COUNTY TRANSIT AUTHORITY",
                                  "PO Box 5877, Cherry Hill, NJ 08053", "Suite 400",
                                  "Keystone Glass & Glazing Contractors, Inc.",
                                  "Acme Supply Co. Inc.", "ST. LOUIS BUILDERS, INC.",
                                  "1200 Larimer St, Denver, CO"])
def test_real_text_is_plausible(text):
    assert text_plausibility(text) == (1.0, None)


def test_cross_checks_lower_confidence_and_explain():
    fields = {f.path: f for f in [
        _f("insurers.A.name", "Travelers"),
        _f("policies.general_liability.insurer", "B"),
        _f("policies.general_liability.effective_date", "2026-01-01"),
        _f("policies.general_liability.expiration_date", "2025-01-01"),
        _f("policies.general_liability.limits.each_occurrence", 1_000_000),
        _f("policies.general_liability.limits.general_aggregate", 500_000),
        _f("policies.general_liability.limits.medical_expense", 10_070),
    ]}
    cross_check(fields)
    assign_status(fields)
    for path in ("policies.general_liability.insurer",
                 "policies.general_liability.expiration_date",
                 "policies.general_liability.limits.general_aggregate",
                 "policies.general_liability.limits.medical_expense"):
        assert fields[path].status == "needs_review", path
        assert fields[path].notes, path
    assert fields["insurers.A.name"].status == "accepted"
    assert fields["policies.general_liability.expiration_date"].value == "2025-01-01"


def test_a_lower_case_word_in_a_title_case_name_looks_misread():
    from extractors.validate import text_plausibility

    factor, why = text_plausibility("pennsylvania Manufacturers Association", title=True)
    assert factor < 0.9 and "pennsylvania" in why
    assert text_plausibility("Travelers Property Casualty Company of America",
                             title=True) == (1.0, None)
    # A first name whose capital was read small ("sarah Thompson", accepted at 0.93).
    assert text_plausibility("sarah Thompson", title=True)[0] < 0.9
    assert text_plausibility("Sarah Thompson", title=True) == (1.0, None)
    # Prose (the description of operations) is not Title Case.
    assert text_plausibility("the certificate holder is named as additional insured") == (
        1.0, None)


def test_a_limit_with_more_than_two_significant_digits_is_unusual():
    fields = {f.path: f for f in [
        _f("policies.workers_compensation.limits.el_each_accident", 109_000, 0.92),
        _f("policies.workers_compensation.limits.el_disease_policy_limit", 500_000, 0.92),
        _f("policies.general_liability.limits.damage_to_rented_premises", 1_500_000, 0.92),
    ]}
    cross_check(fields)
    assign_status(fields)
    assert fields["policies.workers_compensation.limits.el_each_accident"].status == "needs_review"
    assert fields["policies.workers_compensation.limits.el_disease_policy_limit"].status \
        == "accepted"
    assert fields["policies.general_liability.limits.damage_to_rented_premises"].status \
        == "accepted"


def test_a_limit_in_no_amount_limits_are_sold_in_is_unusual():
    # 900,000: a 500,000 whose 5 a fax closed into a 9, read so three times and accepted.
    paths = ("policies.general_liability.limits.each_occurrence",
             "policies.umbrella_liability.limits.each_occurrence",
             "policies.umbrella_liability.limits.aggregate")
    amounts = (900_000, 7_500_000, 25_000_000)
    fields = {p: _f(p, v, 0.93) for p, v in zip(paths, amounts, strict=True)}
    cross_check(fields)
    assign_status(fields)
    assert fields[paths[0]].status == "needs_review"
    assert "unusual" in fields[paths[0]].notes[0]
    assert fields[paths[1]].status == fields[paths[2]].status == "accepted"


def _period(eff: str, exp: str, eff_conf: float, exp_conf: float, **notes: list[str]) -> dict:
    base = "policies.general_liability"
    fields = {f"{base}.effective_date": _f(f"{base}.effective_date", eff, eff_conf),
              f"{base}.expiration_date": _f(f"{base}.expiration_date", exp, exp_conf)}
    for attr, n in notes.items():
        fields[f"{base}.{attr}"].notes.extend(n)
    cross_check(fields)
    assign_status(fields)
    return {p.rsplit(".", 1)[1]: f for p, f in fields.items()}


def test_two_dates_a_year_to_the_day_apart_confirm_each_other():
    # A fax's broken digits left both under the threshold; as a pair they are a policy year.
    got = _period("2025-09-11", "2026-09-11", 0.45, 0.7)
    assert [f.confidence for f in got.values()] == [0.85, 0.85]
    assert all(f.status == "accepted" for f in got.values())
    sure = _period("2025-09-11", "2026-09-11", 0.45, 0.99)["expiration_date"]
    assert sure.confidence == 0.99 and not sure.notes


def test_no_confirmation_from_a_filled_date_a_bare_guess_or_a_period_of_another_length():
    filled = _period("2025-09-11", "2026-09-11", 0.5, 0.7, effective_date=[
        "filled in from the policy's other date and the certificate's other policies"])
    assert filled["effective_date"].status == "needs_review"
    assert _period("2025-09-11", "2026-09-11", 0.2, 0.7)["effective_date"].confidence == 0.2
    assert _period("2025-09-11", "2026-09-10", 0.5, 0.7)["effective_date"].confidence == 0.5


def test_a_digit_among_a_names_letters_looks_misread():
    # "KEYSTONE RISK PARTNERS L1.C" accepted at 0.93 on a fax (seed 7474).
    factor, why = text_plausibility("KEYSTONE RISK PARTNERS L1.C", name=True)
    assert factor == 0.8 and why == "a digit among a word's letters"
    assert text_plausibility("C0MPANY SERVICES", name=True)[0] < 1.0
    for text in ("3M COMPANY", "A1 ROOFING LLC", "ROUTE 66 DINER", "Bldg A1"):
        assert text_plausibility(text, name=True) == (1.0, None)
    assert text_plausibility("KEYSTONE L1.C") == (1.0, None)  # an address's "A1B" may be


def test_a_legal_form_in_lower_case_after_capitals_looks_misread():
    text = "Granite Peak Glass & Glazing Contractors, inc."  # accepted at 0.91, seed 8484
    assert text_plausibility(text, name=True) == (0.8, "a legal form in lower case after capitals")
    assert text_plausibility("Granite Peak Glass & Glazing Contractors, Inc.", name=True) == (
        1.0, None)


def test_a_phone_whose_extension_was_named_and_not_read_goes_to_review():
    # "404.976.0903 Ext" with "174" merged into the next label ("174[FAX"), seed 4545.
    lost = _f("producer.phone", "(404) 976-0903", 0.91)
    lost.raw = "404.976.0903 Ext"
    whole = _f("producer.fax", "(404) 976-0903 x174", 0.91)
    whole.raw = "404.976.0903 Ext 174"
    plausibility({"producer.phone": lost, "producer.fax": whole}, {1})
    assert lost.confidence < 0.6 and "extension" in lost.notes[0]
    assert whole.confidence == 0.91 and whole.notes == []


def test_a_letter_run_into_the_street_number_looks_misread():
    # A speck read "S" against 5785 (seed 5858): a second read agreed, and it was accepted.
    glued = _f("certificate_holder.address", "5785S WASHINGTON STREET, SACRAMENTO, CA 95882")
    fine = _f("insured.address", "5785 WASHINGTON STREET, SACRAMENTO, CA 95882")
    plausibility({"certificate_holder.address": glued, "insured.address": fine}, {1})
    assert glued.confidence < 0.9 and "street number" in glued.notes[0]
    assert fine.confidence == 0.99 and fine.notes == []
