"""The coi-record/1 structure (see ../shared/spec/coi-record.md) as data.

One place knows the shape of a record: the policy lines and their keys, how a record
flattens into dotted field paths (the keys of ``fields``) and back.  The generator's truth,
the extractors, the storage layer and the benchmarks all go through these helpers, so a
path is spelled the same way everywhere.
"""

from __future__ import annotations

import re
from typing import Any

SCHEMA = "coi-record/1"
FORM = "ACORD 25"

INSURER_LETTERS = ("A", "B", "C", "D", "E", "F")

# Every policy carries these, whatever its line.
POLICY_COMMON = (
    "insurer",
    "policy_number",
    "effective_date",
    "expiration_date",
    "additional_insured",
    "subrogation_waived",
)

# line -> (extra keys, limit keys), in the order the spec lists them.
LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "general_liability": (
        ("occurrence_basis", "aggregate_applies_per"),
        (
            "each_occurrence",
            "damage_to_rented_premises",
            "medical_expense",
            "personal_advertising_injury",
            "general_aggregate",
            "products_completed_operations_aggregate",
        ),
    ),
    "automobile_liability": (
        ("autos",),
        (
            "combined_single_limit",
            "bodily_injury_per_person",
            "bodily_injury_per_accident",
            "property_damage",
        ),
    ),
    "umbrella_liability": (("occurrence_basis", "retention"), ("each_occurrence", "aggregate")),
    "excess_liability": (("occurrence_basis", "retention"), ("each_occurrence", "aggregate")),
    "workers_compensation": (
        ("per_statute", "proprietor_excluded"),
        ("el_each_accident", "el_disease_each_employee", "el_disease_policy_limit"),
    ),
    "other": (("description",), ("limit",)),
}

AUTOS = (
    "any_auto",
    "owned_autos_only",
    "scheduled_autos",
    "hired_autos_only",
    "non_owned_autos_only",
)

PARTY_KEYS = {
    "producer": ("name", "address", "contact", "phone", "fax", "email"),
    "insured": ("name", "address"),
    "certificate_holder": ("name", "address"),
}

_POLICY_KEY = re.compile(r"^(?P<line>[a-z_]+)(?:#(?P<n>\d+))?$")


def policy_key(line: str, n: int = 1) -> str:
    """The path segment of the n-th policy of a line: ``other``, ``other#2``."""
    if line not in LINES:
        raise ValueError(f"unknown policy line {line!r}")
    return line if n == 1 else f"{line}#{n}"


def parse_policy_key(key: str) -> tuple[str, int]:
    m = _POLICY_KEY.match(key)
    if not m or m.group("line") not in LINES:
        raise ValueError(f"not a policy key: {key!r}")
    return m.group("line"), int(m.group("n") or 1)


def field_family(path: str) -> str:
    """A coarse grouping of field paths for accuracy reports."""
    head, _, rest = path.partition(".")
    if head == "policies":
        _, _, attr = rest.partition(".")
        if attr.startswith("limits."):
            return "limits"
        if attr in ("effective_date", "expiration_date"):
            return "policy_dates"
        if attr == "policy_number":
            return "policy_numbers"
        if attr in ("additional_insured", "subrogation_waived"):
            return "addl_subr"
        if attr == "insurer":
            return "insurer_letters"
        return "check_boxes"
    if head == "insurers":
        return "insurer_naic" if path.endswith(".naic") else "insurer_names"
    if head in ("producer", "insured", "certificate_holder"):
        return "addresses" if path.endswith(".address") else "parties"
    return head  # certificate_date, description_of_operations


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Record -> {field path: value} for every value present (not None).

    Lists (``autos``) are leaf values.  ``schema``, ``source``, ``form`` and ``fields`` are
    metadata, not fields.
    """
    out: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        if value is not None:
            out[path] = value

    put("certificate_date", record.get("certificate_date"))
    for party, keys in PARTY_KEYS.items():
        block = record.get(party) or {}
        for k in keys:
            put(f"{party}.{k}", block.get(k))
    for letter, ins in (record.get("insurers") or {}).items():
        put(f"insurers.{letter}.name", (ins or {}).get("name"))
        put(f"insurers.{letter}.naic", (ins or {}).get("naic"))
    seen: dict[str, int] = {}
    for pol in record.get("policies") or []:
        line = pol["line"]
        seen[line] = seen.get(line, 0) + 1
        key = policy_key(line, seen[line])
        extras, _ = LINES[line]
        for attr in (*POLICY_COMMON, *extras):
            put(f"policies.{key}.{attr}", pol.get(attr))
        for lk, lv in (pol.get("limits") or {}).items():
            put(f"policies.{key}.limits.{lk}", lv)
    put("description_of_operations", record.get("description_of_operations"))
    return out


def _line_order(key: str) -> tuple[int, int]:
    line, n = parse_policy_key(key)
    return list(LINES).index(line), n


def unflatten(values: dict[str, Any]) -> dict[str, Any]:
    """{field path: value} -> the value part of a record (no schema/source/fields).

    Policies come out in form order (the order of ``LINES``), then by their ``#n``.
    """
    rec: dict[str, Any] = {"certificate_date": None}
    for party in PARTY_KEYS:
        rec[party] = None
    rec["insurers"] = {}
    policies: dict[str, dict[str, Any]] = {}
    for path, value in values.items():
        if value is None:
            continue
        parts = path.split(".")
        head = parts[0]
        if head in PARTY_KEYS and len(parts) == 2:
            rec[head] = rec[head] or {}
            rec[head][parts[1]] = value
        elif head == "insurers" and len(parts) == 3:
            rec["insurers"].setdefault(parts[1], {})[parts[2]] = value
        elif head == "policies" and len(parts) >= 3:
            line, _ = parse_policy_key(parts[1])
            pol = policies.setdefault(parts[1], {"line": line})
            if parts[2] == "limits" and len(parts) == 4:
                pol.setdefault("limits", {})[parts[3]] = value
            else:
                pol[parts[2]] = value
        elif len(parts) == 1:
            rec[head] = value
        else:
            raise ValueError(f"unknown field path {path!r}")
    rec["insurers"] = dict(sorted(rec["insurers"].items()))
    ordered = []
    for key in sorted(policies, key=_line_order):
        pol = policies[key]
        pol.setdefault("limits", {})
        ordered.append(pol)
    rec["policies"] = ordered
    rec.setdefault("description_of_operations", None)
    return rec


def build_record(
    values: dict[str, Any],
    *,
    source: dict[str, Any],
    fields: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A complete coi-record/1 object from field values and their metadata."""
    body = unflatten(values)
    return {
        "schema": SCHEMA,
        "source": source,
        "form": FORM,
        "certificate_date": body["certificate_date"],
        "producer": body["producer"],
        "insured": body["insured"],
        "insurers": body["insurers"],
        "policies": body["policies"],
        "certificate_holder": body["certificate_holder"],
        "description_of_operations": body["description_of_operations"],
        "fields": fields,
    }
