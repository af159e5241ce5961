"""``coi vendor show``: one vendor as a claims department wants it after an accident."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from compliance.profiles import line_label


def _yes(v: Any) -> str:
    return {True: "yes", False: "no"}.get(v, "")


def print_vendor(out: Console, d: dict[str, Any]) -> None:
    out.print(f"[bold]{escape(d['vendor'])}[/] (id {d['id']}, profile {d['profile']})"
              + (f", {escape(d['email'])}" if d.get("email") else ""))
    out.print(f"status as of {d['as_of']}: [bold]{d['status']}[/]")
    for r in d["reasons"]:
        out.print(f"  - {escape(r['message'])}")
    if d["policies"]:
        t = Table(title="Current policies (newest certificate per line)", title_justify="left")
        for c in ("line", "carrier (NAIC)", "policy number", "period", "AI", "WOS",
                  "producer", "cert"):
            t.add_column(c, overflow="fold")
        for p in d["policies"]:
            producer = p["producer"]
            contact = ", ".join(v for v in (producer.get("name"), producer.get("contact"),
                                            producer.get("phone"), producer.get("email")) if v)
            carrier = (p["carrier"] or "?") + (f" ({p['naic']})" if p["naic"] else "")
            line = line_label(p["line"]) + (f": {p['description']}" if p["description"]
                                            else "")
            t.add_row(escape(line), escape(carrier), escape(p["policy_number"] or ""),
                      f"{p['effective_date'] or '?'} to {p['expiration_date'] or '?'}",
                      _yes(p["additional_insured"]), _yes(p["subrogation_waived"]),
                      escape(contact), str(p["certificate_id"]))
        out.print(t)
    if d["history"]:
        t = Table(title="Certificates", title_justify="left")
        for c in ("cert", "certificate date", "received", "file", "insured as read", "match"):
            t.add_column(c, overflow="fold")
        for h in d["history"]:
            match = h["state"] + (f" by {h['decided_by']}" if h["decided_by"] != "auto"
                                  else f" ({h['score']:.0f})")
            t.add_row(str(h["certificate_id"]), h["certificate_date"] or "", h["received"],
                      escape(h["file"]), escape(h["insured_name"] or ""), match)
        out.print(t)
    else:
        out.print("no certificates attached")
