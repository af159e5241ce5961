"""Requirement profiles (compliance/profiles.py): loading and the errors of bad files."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from compliance.profiles import (
    ProfileError,
    line_label,
    load_profile,
    load_profiles,
    parse_money,
)

STANDARD = Path(__file__).resolve().parent.parent / "requirements" / "standard.yaml"

GOOD = """\
lines:
  general_liability:
    limits:
      each_occurrence: 1000000
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def one_error(path: Path, prefix: str) -> str:
    """The file's single error, which must start with ``prefix``."""
    errors = errors_of(path)
    assert len(errors) == 1, errors
    assert errors[0].startswith(prefix), errors
    return errors[0]


def test_shipped_standard_profile() -> None:
    profile = load_profiles(STANDARD.parent)["standard"]
    assert profile.name == "standard"
    assert profile.expiring_days == 30
    assert profile.certificate_holder == "Example Holdings LLC"
    assert profile.description_must_contain == ("primary and non-contributory",)
    by = {r.name: r for r in profile.lines}
    assert list(by) == [
        "general_liability", "automobile_liability", "umbrella_liability", "workers_compensation"
    ]
    gl = by["general_liability"]
    assert gl.limits == {"each_occurrence": 1_000_000, "general_aggregate": 2_000_000}
    assert (gl.additional_insured, gl.subrogation_waived) == (True, True)
    assert gl.occurrence_basis == "occurrence" and gl.accept == ("general_liability",)
    auto = by["automobile_liability"]
    assert auto.limits == {"combined_single_limit": 1_000_000}
    assert (auto.additional_insured, auto.subrogation_waived) == (True, False)
    assert auto.occurrence_basis is None
    umb = by["umbrella_liability"]
    assert umb.limits == {"each_occurrence": 5_000_000}
    assert umb.accept == ("umbrella_liability", "excess_liability")
    wc = by["workers_compensation"]
    assert wc.per_statute and wc.subrogation_waived and not wc.additional_insured
    assert wc.limits == {"el_each_accident": 500_000}
    text = STANDARD.read_text(encoding="utf-8").splitlines()
    for req in profile.lines:
        assert text[req.source_line - 1] == f"  {req.name}:"


def test_shipped_example_entry_loads_when_uncommented(tmp_path: Path) -> None:
    text = STANDARD.read_text(encoding="utf-8")
    start = text.index("  # professional_liability:")
    example = re.sub(r"^  # ", "  ", text[start:], flags=re.M)
    profile = load_profile(write(tmp_path, "pro.yaml", text[:start] + example))
    other = profile.lines[-1]
    assert (other.name, other.line, other.description) == (
        "professional_liability", "other", "professional"
    )
    assert other.limits == {"limit": 1_000_000} and other.accept == ("other",)


@pytest.mark.parametrize(
    ("text", "dollars"),
    [("$1M", 1_000_000), ("1,000,000", 1_000_000), ("$1,000,000", 1_000_000), ("1M", 1_000_000),
     ("500K", 500_000), ("1.5M", 1_500_000), ("2500000", 2_500_000), ("250k", 250_000),
     (1_000_000, 1_000_000)],
)
def test_money(text: str | int, dollars: int) -> None:
    assert parse_money(text) == dollars


@pytest.mark.parametrize("bad", ["1 million", "1,00,000", "0", "$", "1.5", "1.0005K", "-5", True])
def test_bad_money(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_money(bad)


def test_money_strings_in_a_profile(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", """\
        lines:
          general_liability:
            limits: {each_occurrence: "$1M", general_aggregate: "1.5M", medical_expense: 5K}
        """)
    assert load_profile(path).lines[0].limits == {
        "each_occurrence": 1_000_000, "general_aggregate": 1_500_000, "medical_expense": 5_000
    }
    bad = write(tmp_path, "b.yaml", GOOD.replace("1000000", '"one million"'))
    err = one_error(bad, f"{bad}:4: lines.general_liability.limits.each_occurrence: must be a ")
    assert err.endswith("not the string 'one million'")
    nested = write(tmp_path, "n.yaml", GOOD.replace("1000000", "[1000000]"))
    assert one_error(nested, f"{nested}:4: ").endswith("not a list")


def test_defaults(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, "minimal.yml", GOOD))
    assert (profile.name, profile.expiring_days, profile.certificate_holder) == (
        "minimal", 30, None
    )
    assert profile.description_must_contain == ()
    (gl,) = profile.lines
    assert gl.accept == ("general_liability",)
    assert not (gl.additional_insured or gl.subrogation_waived or gl.per_statute)
    assert gl.occurrence_basis is None and gl.description is None and gl.source_line == 2
    named = load_profile(write(tmp_path, "x.yaml", "name: gold\nexpiring_days: 0\n" + GOOD))
    assert (named.name, named.expiring_days) == ("gold", 0)


def test_typo_limit_key_lists_the_valid_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", """\
        expiring_days: 30
        lines:
          general_liability:
            limits:
              each_occurance: 1000000
        """)
    err = one_error(path, f"{path}:5: lines.general_liability.limits.each_occurance: ")
    assert "each_occurrence" in err and "general_aggregate" in err


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "top.yaml", "expiring_day: 30\n" + GOOD)
    err = one_error(path, f"{path}:1: expiring_day: unknown key")
    assert "expiring_days" in err


def test_duplicate_key_names_the_second(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", """\
        lines:
          general_liability:
            limits:
              each_occurrence: 1000000
              each_occurrence: 2000000
        """)
    err = one_error(path, f"{path}:5: lines.general_liability.limits.each_occurrence: duplicate")
    assert "line 4" in err


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "syntax.yaml", "lines:\n  general_liability:\n    limits: [1, 2\n")
    one_error(path, f"{path}:4: (yaml): invalid YAML")
    tabs = write(tmp_path, "tab.yaml", "lines:\n\tgeneral_liability: {}\n")
    one_error(tabs, f"{tabs}:2: (yaml): invalid YAML")


def test_string_is_not_a_boolean(tmp_path: Path) -> None:
    path = write(tmp_path, "bool.yaml", GOOD + '    additional_insured: "yes"\n')
    err = one_error(path, f"{path}:5: lines.general_liability.additional_insured: ")
    assert "true or false" in err


def test_per_statute_only_on_workers_compensation(tmp_path: Path) -> None:
    path = write(tmp_path, "ps.yaml", GOOD + "    per_statute: true\n")
    err = one_error(path, f"{path}:5: lines.general_liability.per_statute: ")
    assert "workers_compensation" in err


def test_occurrence_basis(tmp_path: Path) -> None:
    auto = write(tmp_path, "a.yaml", "lines:\n  automobile_liability:\n    occurrence_basis: x\n")
    one_error(auto, f"{auto}:3: lines.automobile_liability.occurrence_basis: applies only to")
    bad = write(tmp_path, "b.yaml", GOOD + "    occurrence_basis: claims-made\n")
    one_error(bad, f"{bad}:5: lines.general_liability.occurrence_basis: must be occurrence or")
    ok = write(tmp_path, "c.yaml", GOOD + "    occurrence_basis: claims_made\n")
    assert load_profile(ok).lines[0].occurrence_basis == "claims_made"


def test_other_needs_a_description(tmp_path: Path) -> None:
    path = write(tmp_path, "o.yaml", """\
        lines:
          general_liability: {}
          professional_liability:
            line: other
            limits: {limit: 1M}
        """)
    one_error(path, f"{path}:3: lines.professional_liability.description: required")
    gl = write(tmp_path, "g.yaml", GOOD + "    description: general\n")
    one_error(gl, f"{gl}:5: lines.general_liability.description: applies only to other")
    ok = write(tmp_path, "ok.yaml", "lines:\n  cyber:\n    line: other\n    description: Cyber\n")
    (req,) = load_profile(ok).lines
    assert (req.name, req.line, req.description, req.accept) == ("cyber", "other", "cyber",
                                                                 ("other",))


def test_unknown_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "l.yaml", GOOD + "  cyber_liability:\n    limits: {limit: 1}\n")
    err = one_error(path, f"{path}:5: lines.cyber_liability: unknown line 'cyber_liability'")
    assert "workers_compensation" in err and "line:" in err
    bad = write(tmp_path, "m.yaml", GOOD + "  cyber:\n    line: cyber\n")
    one_error(bad, f"{bad}:6: lines.cyber.line: unknown line")
    clash = write(tmp_path, "c.yaml", "lines:\n  general_liability:\n    line: other\n")
    one_error(clash, f"{clash}:3: lines.general_liability.line: entry general_liability is")
    entry = write(tmp_path, "e.yaml", GOOD + "    limit: 5\n")
    one_error(entry, f"{entry}:5: lines.general_liability.limit: unknown key")


def test_accept(tmp_path: Path) -> None:
    bad = write(tmp_path, "a.yaml", GOOD + "    accept: [general_liability, cyber]\n")
    one_error(bad, f"{bad}:5: lines.general_liability.accept[1]: unknown line")
    mismatch = write(tmp_path, "b.yaml", GOOD + "    accept: [automobile_liability]\n")
    prefix = f"{mismatch}:5: lines.general_liability.accept: a policy of automobile_liability "
    err = one_error(mismatch, prefix + "cannot satisfy")
    assert "it has no each_occurrence" in err
    umb = write(tmp_path, "u.yaml", GOOD + "    accept: [general_liability, umbrella_liability]\n")
    assert load_profile(umb).lines[0].accept == ("general_liability", "umbrella_liability")
    empty = write(tmp_path, "c.yaml", GOOD + "    accept: []\n")
    one_error(empty, f"{empty}:5: lines.general_liability.accept: must list")


def test_top_level_values(tmp_path: Path) -> None:
    cases = {
        "expiring_days: -1\n": "1: expiring_days: ",
        "expiring_days: '30'\n": "1: expiring_days: ",
        "certificate_holder: ''\n": "1: certificate_holder: ",
        "description_must_contain: primary\n": "1: description_must_contain: must be a list",
        "description_must_contain:\n  - ok\n  - ''\n": "3: description_must_contain[1]: ",
        "name: 7\n": "1: name: ",
    }
    for i, (head, prefix) in enumerate(cases.items()):
        path = write(tmp_path, f"t{i}.yaml", head + GOOD)
        one_error(path, f"{path}:{prefix}")
    for i, text in enumerate(["lines: {}\n", "lines:\n", "lines: [general_liability]\n"]):
        path = write(tmp_path, f"l{i}.yaml", text)
        one_error(path, f"{path}:1: lines: ")
    missing = write(tmp_path, "nolines.yaml", "expiring_days: 30\n")
    one_error(missing, f"{missing}:1: lines: required")


def test_empty_or_not_a_mapping(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.yaml", "# only a comment\n")
    one_error(empty, f"{empty}:1: (file): the profile is empty")
    listed = write(tmp_path, "list.yaml", "- general_liability\n")
    one_error(listed, f"{listed}:1: (file): the top level must be a mapping")


def test_all_errors_of_all_files_at_once(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "bogus: 1\n" + GOOD + "    additional_insured: 'no'\n")
    b = write(tmp_path, "b.yaml", "lines: [\n")
    write(tmp_path, "c.yaml", GOOD)
    write(tmp_path, "notes.txt", "not a profile")
    with pytest.raises(ProfileError) as info:
        load_profiles(tmp_path)
    errors = info.value.errors
    assert [e.split(": ")[0] for e in errors] == [f"{a}:1", f"{a}:6", f"{b}:2"]


def test_two_files_with_the_same_name(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "name: gold\n" + GOOD)
    second = write(tmp_path, "b.yml", "expiring_days: 10\nname: gold\n" + GOOD)
    with pytest.raises(ProfileError) as info:
        load_profiles(tmp_path)
    (err,) = info.value.errors
    assert err.startswith(f"{second}:2: name: profile name 'gold'") and str(first) in err


def test_load_profiles_sorted_by_name(tmp_path: Path) -> None:
    write(tmp_path, "z.yaml", "name: alpha\n" + GOOD)
    write(tmp_path, "a.yml", "name: beta\n" + GOOD)
    profiles = load_profiles(tmp_path)
    assert list(profiles) == ["alpha", "beta"]
    assert profiles["alpha"].path == tmp_path / "z.yaml"


def test_missing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "nope"
    with pytest.raises(ProfileError) as info:
        load_profiles(folder)
    assert info.value.errors == [
        f"requirements folder {folder} does not exist; set COI_REQUIREMENTS"
    ]
    assert isinstance(info.value, ValueError)


def test_line_label() -> None:
    assert line_label("general_liability") == "general liability"
    assert line_label("workers_compensation") == "workers compensation"
