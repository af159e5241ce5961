"""Requirement profiles: what a vendor's insurance must show to satisfy a contract.

A profile is a YAML file in the requirements folder (COI_REQUIREMENTS), one profile per
``*.yaml``/``*.yml`` file; ``requirements/standard.yaml`` is the commented example.  Files are
checked when loaded, from the composed node tree so that every error names the file, the line
and the dotted key: ``"{path}:{line}: {dotted.key}: {message}"``.  All errors of all files are
raised together as one ``ProfileError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from pipeline.record import LINES

TOP_KEYS = ("name", "expiring_days", "certificate_holder", "description_must_contain", "lines")
ENTRY_KEYS = ("line", "limits", "additional_insured", "subrogation_waived", "occurrence_basis",
              "per_statute", "accept", "description")
OCCURRENCE_BASES = ("occurrence", "claims_made")
DEFAULT_EXPIRING_DAYS = 30

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MONEY = re.compile(r"^\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*([KkMm]?)$")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}
_VALID_LINES = ", ".join(LINES)


@dataclass(frozen=True)
class LineRequirement:
    name: str  # the key in `lines` (e.g. "general_liability", "professional_liability")
    line: str  # a LINES key
    limits: dict[str, int]  # limit key -> minimum dollars
    additional_insured: bool
    subrogation_waived: bool
    occurrence_basis: str | None  # None: either accepted
    per_statute: bool
    accept: tuple[str, ...]  # lines that satisfy it
    description: str | None  # for line "other": lowercase text the printed type must contain
    source_line: int  # 1-based line of the entry in the file (for messages)


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    expiring_days: int
    certificate_holder: str | None
    description_must_contain: tuple[str, ...]
    lines: tuple[LineRequirement, ...]  # in file order


class ProfileError(ValueError):
    """One or more invalid profiles; ``errors`` holds one ``path:line: key: message`` each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def line_label(name: str) -> str:
    """``"general_liability"`` -> ``"general liability"`` (for messages)."""
    return name.replace("_", " ")


def parse_money(value: Any) -> int:
    """Whole positive dollars from an int or "1,000,000", "$1M", "500K", "1.5M"."""
    if isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, str) and (m := _MONEY.match(value.strip())):
        digits, frac, unit = m.groups()
        amount = Decimal(digits.replace(",", "") + (frac or "")) * _SCALE[unit.lower()]
    else:
        amount = Decimal(0)
    if amount <= 0 or amount != amount.to_integral_value():
        raise ValueError("must be a positive whole number of dollars (1000000, '1,000,000', "
                         "'$1M', '500K', '1.5M')")
    return int(amount)


def _lines_with(extra: str) -> list[str]:
    return [line for line, (extras, _) in LINES.items() if extra in extras]


class _File:
    """The errors of one file and helpers that read its node tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._errors: list[tuple[int, str]] = []
        self._ctor = yaml.SafeLoader("")

    def err(self, where: yaml.Node | int, key: str, message: str) -> None:
        line = where if isinstance(where, int) else where.start_mark.line + 1
        self._errors.append((line, f"{self.path}:{line}: {key}: {message}"))

    @property
    def errors(self) -> list[str]:
        """The messages in line order."""
        return [text for _, text in sorted(self._errors, key=lambda e: e[0])]

    def value(self, node: yaml.Node) -> Any:
        """A scalar's Python value; collections stay nodes (never what a check wants)."""
        if not isinstance(node, yaml.ScalarNode):
            return node
        try:
            return self._ctor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return node

    def mapping(
        self, knode: yaml.Node, node: yaml.Node, key: str, allowed: tuple[str, ...] | None = None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """{key: (key node, value node)} of a mapping (null: empty), checking its keys."""
        if isinstance(node, yaml.ScalarNode) and self.value(node) is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.err(knode, key, f"must be a mapping, not {_kind(self.value(node))}")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                self.err(k, key, "keys must be plain names")
                continue
            sub = f"{key}.{k.value}" if key else k.value
            if k.value in out:
                first = out[k.value][0].start_mark.line + 1
                self.err(k, sub, f"duplicate key (first given on line {first})")
            elif allowed is not None and k.value not in allowed:
                self.err(k, sub, f"unknown key; allowed keys: {', '.join(allowed)}")
            else:
                out[k.value] = (k, v)
        return out

    def boolean(self, fields: dict, name: str, key: str) -> bool:
        knode, vnode = fields.get(name, (None, None))
        v = None if vnode is None else self.value(vnode)
        if v is not None and not isinstance(v, bool):
            self.err(knode, f"{key}.{name}", f"must be true or false, not {_kind(v)}")
        return v is True

    def text(self, knode: yaml.Node, vnode: yaml.Node, key: str) -> str | None:
        v = self.value(vnode)
        if isinstance(v, str) and v.strip():
            return v.strip()
        self.err(knode, key, f"must be a non-empty string, not {_kind(v)}")
        return None

    def items(self, knode: yaml.Node, vnode: yaml.Node, key: str) -> list[tuple[yaml.Node, Any]]:
        """(node, value) of each item of a list (null: empty)."""
        if isinstance(vnode, yaml.ScalarNode) and self.value(vnode) is None:
            return []
        if not isinstance(vnode, yaml.SequenceNode):
            self.err(knode, key, f"must be a list, not {_kind(self.value(vnode))}")
            return []
        return [(n, self.value(n)) for n in vnode.value]


def _kind(v: Any) -> str:
    """A value as an error message shows it."""
    if isinstance(v, yaml.Node):
        collection = {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}
        return collection.get(type(v)) or f"the value {v.value!r}"
    return f"the string {v!r}" if isinstance(v, str) else "nothing" if v is None else repr(v)


def _entry(f: _File, name: str, knode: yaml.Node, vnode: yaml.Node) -> LineRequirement | None:
    key = f"lines.{name}"
    fields = f.mapping(knode, vnode, key, ENTRY_KEYS)
    if fields is None:
        return None
    if not _IDENT.match(name):
        f.err(knode, key, "line entry names are identifiers (letters, digits and _)")
    line = name if name in LINES else None
    if "line" in fields:
        lk, lv = fields["line"]
        v = f.value(lv)
        known = isinstance(v, str) and v in LINES
        if not known:
            f.err(lk, f"{key}.line", f"unknown line {_kind(v)}; valid lines: {_VALID_LINES}")
        elif line not in (None, v):
            f.err(lk, f"{key}.line", f"entry {name} is line {name}; drop `line:` or rename it")
        line = v if known and line in (None, v) else None
    elif line is None:
        f.err(knode, key, f"unknown line {name!r}; valid lines: {_VALID_LINES} "
                          "(another name needs `line:` giving one of them)")
    if line is None:
        return None
    extras, limit_keys = LINES[line]
    for opt in ("occurrence_basis", "per_statute", "description"):
        if opt in fields and opt not in extras:
            f.err(fields.pop(opt)[0], f"{key}.{opt}",
                  f"applies only to {', '.join(_lines_with(opt))}")

    limits: dict[str, int] = {}
    if "limits" in fields:
        lim = f.mapping(*fields["limits"], f"{key}.limits") or {}
        for lname, (k, v) in lim.items():
            if lname not in limit_keys:
                f.err(k, f"{key}.limits.{lname}", f"unknown limit key for {line}; "
                                                  f"valid keys: {', '.join(limit_keys)}")
                continue
            try:
                limits[lname] = parse_money(f.value(v))
            except ValueError as exc:
                f.err(k, f"{key}.limits.{lname}", f"{exc}, not {_kind(f.value(v))}")

    basis = f.value(fields["occurrence_basis"][1]) if "occurrence_basis" in fields else None
    if basis is not None and basis not in OCCURRENCE_BASES:
        f.err(fields["occurrence_basis"][0], f"{key}.occurrence_basis",
              f"must be occurrence or claims_made (omit to accept either), not {_kind(basis)}")
        basis = None
    per_statute = f.boolean(fields, "per_statute", key)
    description = None
    if "description" in fields:
        description = f.text(*fields["description"], f"{key}.description")
    elif line == "other":
        f.err(knode, f"{key}.description", "required for line other: text its printed type "
                                           "must contain")

    accept: tuple[str, ...] = (line,)
    if "accept" in fields:
        ak, av = fields["accept"]
        got: list[str] = []
        for i, (n, v) in enumerate(f.items(ak, av, f"{key}.accept")):
            if not isinstance(v, str) or v not in LINES:
                f.err(n, f"{key}.accept[{i}]", f"unknown line {_kind(v)}; "
                                               f"valid lines: {_VALID_LINES}")
            elif v not in got:
                got.append(v)
        accept = tuple(got) or accept
        if not got and isinstance(av, yaml.SequenceNode) and not av.value:
            f.err(ak, f"{key}.accept", "must list at least one line (omit for the entry's own)")
        # A policy of an accepted line must be able to show everything the entry asks for.
        asked = [*limits] + ["occurrence_basis"] * bool(basis) + ["per_statute"] * per_statute
        for a in got:
            missing = [k for k in asked if k not in LINES[a][0] + LINES[a][1]]
            if missing or (a == "other") != (line == "other"):
                f.err(ak, f"{key}.accept", f"a policy of {a} cannot satisfy this {line} "
                      "entry" + (f" (it has no {', '.join(missing)})" if missing else ""))

    return LineRequirement(
        name=name, line=line, limits=limits,
        additional_insured=f.boolean(fields, "additional_insured", key),
        subrogation_waived=f.boolean(fields, "subrogation_waived", key),
        occurrence_basis=basis, per_statute=per_statute, accept=accept,
        description=description and description.lower(), source_line=knode.start_mark.line + 1,
    )


def _load(path: Path) -> tuple[Profile | None, list[str], int]:
    """(profile or None, errors, line of its name) of one file."""
    f = _File(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        f.err(1, "(file)", f"cannot read: {exc}")
        return None, f.errors, 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        problem = ", ".join(p for p in parts if p) or str(exc)
        f.err(mark.line + 1 if mark else 1, "(yaml)", f"invalid YAML: {problem}")
        return None, f.errors, 1
    if root is None:
        f.err(1, "(file)", "the profile is empty")
        return None, f.errors, 1
    if not isinstance(root, yaml.MappingNode):
        f.err(root, "(file)", f"the top level must be a mapping, not {_kind(f.value(root))}")
        return None, f.errors, 1
    top = f.mapping(root, root, "", TOP_KEYS) or {}

    name, name_line = path.stem, 1
    if "name" in top and f.value(top["name"][1]) is not None:
        name_line = top["name"][0].start_mark.line + 1
        name = f.text(*top["name"], "name") or name
    days = DEFAULT_EXPIRING_DAYS
    if "expiring_days" in top:
        v = f.value(top["expiring_days"][1])
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            days = v
        elif v is not None:
            f.err(top["expiring_days"][0], "expiring_days",
                  f"must be a whole number of days >= 0, not {_kind(v)}")
    holder = None
    if "certificate_holder" in top and f.value(top["certificate_holder"][1]) is not None:
        holder = f.text(*top["certificate_holder"], "certificate_holder")
    phrases: list[str] = []
    if "description_must_contain" in top:
        items = f.items(*top["description_must_contain"], "description_must_contain")
        for i, (n, _) in enumerate(items):
            phrases.append(f.text(n, n, f"description_must_contain[{i}]") or "")
    entries: list[LineRequirement] = []
    if "lines" not in top:
        f.err(root, "lines", "required: the policy lines the profile asks for")
    else:
        lines = f.mapping(*top["lines"], "lines")
        if lines == {}:
            f.err(top["lines"][0], "lines", "must name at least one policy line")
        for lname, (k, v) in (lines or {}).items():
            if (req := _entry(f, lname, k, v)) is not None:
                entries.append(req)
    if f.errors:
        return None, f.errors, name_line
    return Profile(name, path, days, holder, tuple(phrases), tuple(entries)), [], name_line


def load_profile(path: Path) -> Profile:
    """One profile file; raises ProfileError with all its errors."""
    profile, errors, _ = _load(path)
    if profile is None:
        raise ProfileError(errors)
    return profile


def load_profiles(folder: Path) -> dict[str, Profile]:
    """Every ``*.yaml``/``*.yml`` profile of a folder by name (sorted); one ProfileError."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ProfileError([f"requirements folder {folder} {what}; set COI_REQUIREMENTS"])
    paths = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in (".yaml", ".yml") and not p.name.startswith(".")
                   and p.is_file())
    errors: list[str] = []
    found: dict[str, Profile] = {}
    for path in paths:
        profile, errs, name_line = _load(path)
        errors += errs
        if profile is None:
            continue
        if profile.name in found:
            errors.append(f"{path}:{name_line}: name: profile name {profile.name!r} is also "
                          f"used by {found[profile.name].path}")
        else:
            found[profile.name] = profile
    if errors:
        raise ProfileError(errors)
    return dict(sorted(found.items()))
