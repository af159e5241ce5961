"""``coi show``: one coi-record/1 record as rich tables, every value with its confidence.

Values come from the record itself (``pipeline.record.flatten`` gives the field paths); the
confidence and status of each come from the record's ``fields``.  Nothing here reads the
database: the command line resolves the record and passes it in.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.record import PARTY_KEYS, flatten

MONEY_KEYS = {"retention"}  # dollar amounts outside ``limits``
MARKS = {
    "needs_review": "[bold yellow]⚠ review[/]",
    "corrected": "[cyan]corrected[/]",
    "confirmed": "[green]confirmed[/]",
    "accepted": "",
}
TITLES = {"producer": "Producer", "insured": "Insured", "certificate_holder": "Certificate holder"}


def fmt_value(path: str, value: Any) -> str:
    """A value as a person reads it: $1,000,000, yes/no, lists joined."""
    leaf = path.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and (".limits." in path or leaf in MONEY_KEYS):
        return f"${value:,}"
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value)
    return str(value)


def _table(title: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", expand=False)
    t.add_column("Field", style="dim", no_wrap=True)
    t.add_column("Value", overflow="fold")
    t.add_column("Conf.", justify="right", no_wrap=True)
    t.add_column("Status", no_wrap=True)
    return t


def _row(t: Table, label: str, path: str, value: Any, fields: dict[str, Any]) -> None:
    meta = fields.get(path) or {}
    conf = meta.get("confidence")
    t.add_row(
        escape(label.replace("_", " ")),
        escape(fmt_value(path, value)),
        "" if conf is None else f"{conf:.2f}",
        MARKS.get(meta.get("status", ""), escape(str(meta.get("status", "")))),
    )


def _policy_title(key: str) -> str:
    line, _, n = key.partition("#")
    return line.replace("_", " ").capitalize() + (f" #{n}" if n else "")


def render(record: dict[str, Any], console: Console) -> None:
    """Print ``record`` to ``console``: header, parties, insurers, policies, description."""
    values = flatten(record)
    fields: dict[str, Any] = record.get("fields") or {}
    src = record.get("source") or {}

    head = _table(f"{record.get('form', 'ACORD 25')} certificate")
    head.add_row("file", escape(str(src.get("file", ""))), "", "")
    head.add_row("sha256", escape(str(src.get("sha256", ""))[:16]) + "…", "", "")
    head.add_row("pages", str(src.get("pages", "")), "", "")
    if (src.get("certificates") or 1) > 1:  # one of a batch scan's certificates
        head.add_row("certificate", f"{src['certificate']} of {src['certificates']}", "", "")
    if "certificate_date" in values:
        _row(head, "certificate date", "certificate_date", values["certificate_date"], fields)
    console.print(head)

    for party in ("producer", "insured"):
        _party(console, party, values, fields)

    if record.get("insurers"):
        t = _table("Insurers")
        for letter in record["insurers"]:
            for attr in ("name", "naic"):
                path = f"insurers.{letter}.{attr}"
                if path in values:
                    _row(t, f"{letter} {attr.upper() if attr == 'naic' else attr}", path,
                         values[path], fields)
        console.print(t)

    keys: list[str] = []
    for path in values:
        if path.startswith("policies."):
            key = path.split(".")[1]
            if key not in keys:
                keys.append(key)
    for key in keys:
        t = _table(f"Policy: {_policy_title(key)}")
        prefix = f"policies.{key}."
        for path, value in values.items():
            if path.startswith(prefix):
                _row(t, path[len(prefix):].replace("limits.", "limit: "), path, value, fields)
        console.print(t)

    _party(console, "certificate_holder", values, fields)
    if "description_of_operations" in values:
        t = _table("Description of operations")
        _row(t, "description", "description_of_operations",
             values["description_of_operations"], fields)
        console.print(t)

    review = sum(1 for m in fields.values() if m.get("status") == "needs_review")
    console.print(f"{len(fields)} fields, [bold yellow]{review}[/] need review")


def _party(console: Console, party: str, values: dict[str, Any], fields: dict[str, Any]) -> None:
    rows = [(k, f"{party}.{k}") for k in PARTY_KEYS[party] if f"{party}.{k}" in values]
    if not rows:
        return
    t = _table(TITLES[party])
    for label, path in rows:
        _row(t, label, path, values[path], fields)
    console.print(t)
