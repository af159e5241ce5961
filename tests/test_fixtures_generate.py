"""The certificate generator: deterministic, well-formed truth, truth printed on the page."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date

import pypdfium2 as pdfium
import pytest

from fixtures.generate import LAYOUT_NAMES, generate, make_certificate, write_sample
from pipeline.record import AUTOS, LINES, POLICY_COMMON, SCHEMA, flatten, unflatten

SEEDS = (1, 7, 42, 1234, 99991)
LABELS = (
    "CERTIFICATE OF LIABILITY INSURANCE", "PRODUCER", "INSURED", "INSURER A", "INSURER F",
    "NAIC #", "COVERAGES", "COMMERCIAL GENERAL LIABILITY", "AUTOMOBILE LIABILITY",
    "UMBRELLA LIAB", "EXCESS LIAB", "EACH OCCURRENCE", "GENERAL AGGREGATE",
    "E.L. EACH ACCIDENT", "CERTIFICATE HOLDER", "CANCELLATION",
    "AUTHORIZED REPRESENTATIVE", "ACORD 25 (",
)
# One of each pair, by edition (fixtures.layouts.EDITIONS).
EDITION_LABELS = (("PER STATUTE", "WC STATU-TORY LIMITS"),)


def _pages(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def _collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def _assert_printed(path: str, value: object, text: str) -> None:
    """Each truth value, in some form the spec normalizes from, is in the text layer."""
    flat = _collapse(text)
    if isinstance(value, bool) or path.endswith(".autos") or path.endswith(
            ("occurrence_basis", "aggregate_applies_per", "per_statute", "proprietor_excluded")):
        return  # check-box states: not text
    if isinstance(value, int):
        short = (f"${value / 1_000_000:g}M" if value % 100_000 == 0 and value >= 1_000_000
                 else f"${value // 1000}K")  # "$1M", "$300K"
        assert f"{value:,}" in flat or str(value) in flat or short in flat, (path, value)
    elif path.endswith("date"):
        d = date.fromisoformat(value)
        assert d.strftime("%m/%d/%Y") in flat or d.strftime("%m/%d/%y") in flat, (path, value)
    elif path.endswith((".phone", ".fax")):
        digits = re.sub(r"\D", "", value)
        assert digits in re.sub(r"\D", "", flat.replace(" ", "")), (path, value)
        assert value[1:4] in flat, (path, value)
    elif path.endswith(".email"):
        assert value in flat.lower(), (path, value)
    elif path.endswith(".address"):
        for part in value.split(", "):
            assert part in flat, (path, part)
    elif path == "description_of_operations":
        # Wrapped over lines, possibly over two pages: its words appear in order.
        pos = 0
        for word in value.split(" "):
            pos = flat.find(word, pos)
            assert pos >= 0, (path, word)
            pos += len(word)
    else:
        assert str(value) in flat, (path, value)


def _check_truth_shape(t: dict) -> None:
    assert t["schema"] == SCHEMA and t["form"] == "ACORD 25"
    assert t["policies"], "at least one policy line"
    for pol in t["policies"]:
        extras, limit_keys = LINES[pol["line"]]
        allowed = {"line", "limits", *POLICY_COMMON, *extras}
        assert set(pol) <= allowed, pol
        for key in POLICY_COMMON:
            assert key in pol or key == "subrogation_waived", (pol["line"], key)
        assert isinstance(pol["additional_insured"], bool)
        # The 2009/09 form has no SUBR WVD column: not in the record.
        assert isinstance(pol.get("subrogation_waived", False), bool)
        assert set(pol["limits"]) <= set(limit_keys)
        assert pol["insurer"] in t["insurers"]
        if "autos" in pol:
            assert pol["autos"] == [a for a in AUTOS if a in pol["autos"]]
        if pol["line"] == "workers_compensation":
            assert pol["additional_insured"] is False  # the form prints N / A
            assert isinstance(pol["per_statute"], bool)
            assert isinstance(pol["proprietor_excluded"], bool)
    for ins in t["insurers"].values():
        assert "naic" not in ins or re.fullmatch(r"\d{5}", ins["naic"])
    flat = flatten(t)
    for path, v in flat.items():
        assert isinstance(v, bool) or v not in ("", 0, []), (path, v)
        if path.endswith((".phone", ".fax")):
            assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}( x\d+)?", v), v
    # The truth is exactly what the record helpers produce from its own field paths.
    body = unflatten(flat)
    for key in ("certificate_date", "producer", "insured", "insurers", "policies",
                "certificate_holder", "description_of_operations"):
        assert body[key] == t[key], key


def test_deterministic() -> None:
    for layout in LAYOUT_NAMES:
        a = make_certificate(11, layout=layout)
        b = make_certificate(11, layout=layout)
        assert a.pdf == b.pdf and a.truth == b.truth
    assert make_certificate(11).pdf != make_certificate(12).pdf
    mp = make_certificate(11, multipage=True)
    assert mp.pdf == make_certificate(11, multipage=True).pdf


def test_same_seed_same_content_across_layouts() -> None:
    truths = [make_certificate(5, layout=lay).truth for lay in LAYOUT_NAMES]
    assert all(t == truths[0] for t in truths)
    pdfs = {make_certificate(5, layout=lay).pdf for lay in LAYOUT_NAMES}
    assert len(pdfs) == len(LAYOUT_NAMES)


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("seed", SEEDS)
def test_truth_is_printed(layout: str, seed: int) -> None:
    cert = make_certificate(seed, layout=layout)
    _check_truth_shape(cert.truth)
    (text,) = _pages(cert.pdf)
    for label in LABELS:
        assert label in _collapse(text), label
    for pair in EDITION_LABELS:
        assert any(label in _collapse(text) for label in pair), pair
    for path, value in flatten(cert.truth).items():
        _assert_printed(path, value, text)


@pytest.mark.parametrize("seed", SEEDS)
def test_multipage(seed: int) -> None:
    cert = make_certificate(seed, multipage=True)
    assert cert.pages == 3
    cover, acord25, acord101 = _pages(cert.pdf)
    assert "FAX" in cover and "INSURER A" not in cover and "ACORD" not in cover
    assert re.search(r"ACORD 25 \(20\d\d/\d\d\)", acord25)
    assert "ADDITIONAL REMARKS SCHEDULE" in acord101 and "ACORD 101 (2008/01)" in acord101
    _check_truth_shape(cert.truth)
    assert "ACORD 101" in cert.truth["description_of_operations"]
    for path, value in flatten(cert.truth).items():
        _assert_printed(path, value, acord25 if path != "description_of_operations"
                        else acord25 + "\n" + acord101)


def test_variety_over_seeds() -> None:
    """The things readers must cope with actually occur within a modest number of seeds."""
    seen: dict[str, set] = {"lines": set(), "autos": set(), "basis": set(), "insurers": set(),
                            "addl": set(), "per": set(), "other": set(), "ret": set()}
    for seed in range(60):
        t = make_certificate(seed, layout="acord").truth
        seen["insurers"].add(len(t["insurers"]))
        for p in t["policies"]:
            seen["lines"].add(p["line"])
            seen["autos"].add(tuple(p.get("autos", ())))
            seen["basis"].add(p.get("occurrence_basis"))
            seen["addl"].add(p["additional_insured"])
            seen["per"].add(p.get("aggregate_applies_per"))
            seen["ret"].add("retention" in p)
            if p["line"] == "other":
                seen["other"].add(p["limits"]["limit"])
    assert seen["lines"] == set(LINES)
    assert {"occurrence", "claims_made", None} <= seen["basis"]
    assert {"policy", "project", None} <= seen["per"]
    assert len(seen["autos"]) >= 4 and len(seen["insurers"]) >= 4
    assert seen["addl"] == {True, False} and seen["ret"] == {True, False}
    assert len(seen["other"]) >= 3


def test_write_sample_and_generate(tmp_path) -> None:
    cert = make_certificate(3)
    path = write_sample(tmp_path, "digital-3-000", cert, "digital", 3)
    assert path.name == "digital-3-000.pdf" and path.read_bytes() == cert.pdf
    t = json.loads((tmp_path / "digital-3-000.truth.json").read_text())
    assert t["source"] == {"file": path.name, "sha256": hashlib.sha256(cert.pdf).hexdigest(),
                           "pages": 1}
    assert cert.truth["source"] is None  # the certificate itself is not modified

    a = generate(tmp_path / "a", seed=9, count=2, conditions=("digital", "multipage"),
                 layouts=("acord", "random"))
    b = generate(tmp_path / "b", seed=9, count=2, conditions=("digital", "multipage"),
                 layouts=("acord", "random"))
    assert [p.name for p in a] == ["digital-9-000.pdf", "digital-9-001.pdf",
                                   "multipage-9-000.pdf", "multipage-9-001.pdf"]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
        ta = json.loads(pa.with_name(pa.name.split(".")[0] + ".truth.json").read_text())
        assert ta["source"]["sha256"] == hashlib.sha256(pa.read_bytes()).hexdigest()
        assert ta["source"]["pages"] == (3 if pa.name.startswith("multipage") else 1)


def test_cli(tmp_path, capsys) -> None:
    from fixtures.generate import main

    assert main(["--out", str(tmp_path), "--seed", "4", "--count", "1",
                 "--conditions", "digital", "--layouts", "legacy"]) == 0
    assert str(tmp_path / "digital-4-000.pdf") in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--seed", "4", "--layouts", "nope"])


def test_misaligned_print_shifts_every_typed_value_by_one_offset() -> None:
    import random

    import pypdfium2 as pdfium

    from fixtures.generate import misalignment
    from fixtures.layouts import random_layout, realize
    from pipeline.textlayer import page_words

    seed = 20022
    words = {}
    for shifted in (False, True):
        pdf = pdfium.PdfDocument(make_certificate(seed, misaligned=shifted).pdf)
        words[shifted] = page_words(pdf[0], 1)
    lrng = random.Random(f"layout:{seed}:random")
    dx, dy = misalignment(random.Random(f"misalign:{seed}"), realize(random_layout(lrng),
                                                                      lrng)[0])
    assert 0.2 <= abs(dy) / 14 and abs(dx) > 0  # off by a good part of a row
    truth = make_certificate(seed).truth
    moved = []
    for value in (truth["insured"]["name"].split()[0], truth["producer"]["name"].split()[0]):
        (a,) = [w for w in words[False] if w.text == value][:1]
        (b,) = [w for w in words[True] if w.text == value][:1]
        moved.append(((b.x0 - a.x0) * 72 / 300, (b.y0 - a.y0) * 72 / 300))
    for mx, my in moved:
        assert abs(mx - dx) < 1.0 and abs(my - dy) < 1.0
    # The printed form itself does not move.
    assert [w for w in words[False] if w.text == "PRODUCER"][0].bbox == \
        [w for w in words[True] if w.text == "PRODUCER"][0].bbox


def test_limit_formats_and_their_truth() -> None:
    import random

    from fixtures.data import Formats, money

    f = Formats(random.Random(0))
    typed = {}
    for style in ("comma", "plain", "dollar", "cents", "short"):
        f.money = style
        typed[style] = [f.amount(n) for n in (1_000_000, 1_500_000, 300_000, 2_500)]
    assert typed["cents"][0] == "$ 1,000,000.00" and typed["plain"][0] == "1000000"
    assert typed["short"] == ["$1M", "$1.5M", "$300K", "$2,500"]
    for style, texts in typed.items():
        assert [money(t) for t in texts] == [1_000_000, 1_500_000, 300_000, 2_500], style


def test_some_limit_cells_hold_words_and_the_truth_has_no_amount_there() -> None:
    from fixtures.data import CELL_WORDS

    found = 0
    for seed in range(30):
        cert = make_certificate(seed)
        text = _pages(cert.pdf)[0]
        # Not N/A or EXCLUDED, which the form prints too (the WC row's "N / A", "OFFICER/
        # MEMBER EXCLUDED?").
        found += any(w in text for w in CELL_WORDS if w not in ("N/A", "EXCLUDED"))
    assert found >= 2
    # Seed 20309 types EXCLUDED for the general aggregate: printed, and not in the truth.
    cert = make_certificate(20309)
    assert re.search(r"EXCLUDED(?!\?)", _pages(cert.pdf)[0])
    [gl] = [p for p in cert.truth["policies"] if p["line"] == "general_liability"]
    assert "general_aggregate" not in gl["limits"]
    assert gl["limits"]["each_occurrence"] > 0


def test_older_editions_of_the_form() -> None:
    editions = {}
    for seed in range(20300, 20340):
        cert = make_certificate(seed)
        text = _pages(cert.pdf)[0]
        edition = re.search(r"ACORD 25 \((\d{4}/\d\d)\)", text).group(1)
        editions.setdefault(edition, (seed, cert, text))
    assert set(editions) == {"2016/03", "2014/01", "2010/05", "2009/09"}
    _, cert, text = editions["2009/09"]
    assert "WVD" not in text and "INSRD" in text and "WC STATU-TORY LIMITS" in text
    assert re.search(r"ALL\s+OWNED\s+AUTOS", text) and not re.search(r"AUTOS\s+ONLY", text)
    assert all("subrogation_waived" not in p for p in cert.truth["policies"])
    _, cert, text = editions["2016/03"]
    assert "WVD" in text and "PER STATUTE" in text and re.search(r"AUTOS\s+ONLY", text)
    assert all("subrogation_waived" in p for p in cert.truth["policies"])


def test_a_second_policy_of_a_line_on_the_next_row() -> None:
    cert = make_certificate(20376)
    autos = [p for p in cert.truth["policies"] if p["line"] == "automobile_liability"]
    assert len(autos) == 2 and autos[1]["policy_number"] != autos[0]["policy_number"]
    assert autos[1]["limits"] == {} and "autos" not in autos[1]
    assert autos[1]["policy_number"] in _collapse(_pages(cert.pdf)[0])
    assert "policies.automobile_liability#2.policy_number" in flatten(cert.truth)
    _check_truth_shape(cert.truth)
