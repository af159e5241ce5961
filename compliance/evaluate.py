"""A vendor's certificates against its requirement profile: one status, with reasons.

Pure: certificates come in as :class:`CertView` (field values and their review statuses, as
stored), the day comes in as ``today``; nothing here reads the clock or the database.

Rules, in the words the reasons use:

* Per line, a policy in force today wins over a future one (a renewal), and a future one
  over an expired one; among those, the newest certificate (by certificate date, then by
  when it was received).  Of several such policies on that certificate (two GL policies),
  the one that meets the requirement best counts.  An expiring policy with a renewal on
  file that meets the requirement is not expiring.
* A value whose field still ``needs_review`` never decides anything: every check that depends
  on one is ``pending_review`` until a reviewer confirms or corrects it.
* Policy periods end at 12:01 a.m. of the expiration date, so a policy is expired on its
  expiration date, and expiring when it ends within the profile's ``expiring_days`` (a policy
  ending exactly ``expiring_days`` from today is expiring, one day later it is not).
* The status is the most serious reason: expired, then deficient, then pending_review, then
  expiring; compliant without any.  A vendor with no certificate is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from compliance.match import AUTO, normalize_name, score
from compliance.profiles import LineRequirement, Profile, line_label
from pipeline.record import parse_policy_key

TRUSTED = ("accepted", "confirmed", "corrected")
SEVERITY = ("expired", "deficient", "pending_review", "expiring")  # most serious first

LIMIT_LABELS = {
    "each_occurrence": "each occurrence",
    "damage_to_rented_premises": "damage to rented premises",
    "medical_expense": "medical expense",
    "personal_advertising_injury": "personal & advertising injury",
    "general_aggregate": "general aggregate",
    "products_completed_operations_aggregate": "products-completed operations aggregate",
    "combined_single_limit": "combined single limit",
    "bodily_injury_per_person": "bodily injury per person",
    "bodily_injury_per_accident": "bodily injury per accident",
    "property_damage": "property damage",
    "aggregate": "aggregate",
    "el_each_accident": "E.L. each accident",
    "el_disease_each_employee": "E.L. disease each employee",
    "el_disease_policy_limit": "E.L. disease policy limit",
    "limit": "limit",
}
_AMOUNT = re.compile(
    r"(?P<dollar>\$)?\s*(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3}){2,}|\d+(?:\.\d+)?)"
    r"(?:\s*(?P<unit>million|mil|mm|m|thousand|k)(?![a-z/]))?", re.IGNORECASE)
_NOT_A_LIMIT = re.compile(r"\b(?:ded(?:uctible)?|ret(?:ention)?|sir)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CertView:
    certificate_id: int
    certificate_date: dt.date | None
    received: dt.datetime
    values: dict[str, Any]
    statuses: dict[str, str]

    def trusted(self, path: str) -> bool:
        return self.statuses.get(path) in (None, *TRUSTED)

    def reviewed_date(self, path: str) -> dt.date | None:
        """The date at ``path`` when it can be relied on (read surely or reviewed)."""
        return parse_date(self.values.get(path)) if self.trusted(path) else None

    def order(self) -> tuple[dt.date, dt.datetime, int]:
        # An unreviewed (or missing) certificate date does not decide which certificate is
        # newest: the day it was received stands in for it.
        date = self.certificate_date if self.trusted("certificate_date") else None
        return (date or self.received.date(), self.received, self.certificate_id)


@dataclass(frozen=True)
class Reason:
    severity: str  # one of SEVERITY
    kind: str  # missing_line, limit, additional_insured, ..., review, expired, expiring
    message: str
    requirement: str | None = None  # the profile's line entry
    certificate_id: int | None = None
    path: str | None = None  # the field that decided it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Evaluation:
    status: str
    reasons: list[Reason] = field(default_factory=list)
    # requirement name -> (certificate id, policy key) that was judged for it
    chosen: dict[str, tuple[int, str]] = field(default_factory=dict)


def money(v: int) -> str:
    return f"{v:,}"


def first_amount(text: str | None) -> int | None:
    """The first limit amount in an `other` row's printed text (``$1M each claim``,
    ``$2 million``, ``1.000.000``).  An amount named a deductible or retention (before or
    after it) is skipped, and so is a bare small number (``Policy 2024``): an amount has a
    dollar sign, thousands separators, a unit, or five digits or more."""
    text = text or ""
    previous_end = 0
    for m in _AMOUNT.finditer(text):
        # the words since the previous amount name this one ("Ded $5,000"), as does a
        # word right after it ("$5,000 deductible")
        before = re.split(r"[;/|,]", text[max(previous_end, m.start() - 14):m.start()])[-1]
        after = text[m.end():m.end() + 12].lstrip(" :-")
        previous_end = m.end()
        if _NOT_A_LIMIT.search(before) or _NOT_A_LIMIT.match(after):
            continue
        raw, unit = m.group("n"), (m.group("unit") or "").lower()
        grouped = "," in raw or raw.count(".") >= 2
        number = Decimal(raw.replace(",", "") if raw.count(".") < 2 else raw.replace(".", ""))
        if not (m.group("dollar") or unit or grouped or number >= 10_000):
            continue
        scale = 1_000_000 if unit in ("million", "mil", "mm", "m") else \
            1_000 if unit in ("thousand", "k") else 1
        return int(number * scale)
    return None


def parse_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)) if v else None
    except ValueError:
        return None


def _policies(cert: CertView, req: LineRequirement) -> list[str]:
    keys = {p.split(".")[1] for p in cert.values if p.startswith("policies.")}
    out = []
    for key in sorted(keys):
        try:
            line, _ = parse_policy_key(key)
        except ValueError:
            continue
        if line not in req.accept:
            continue
        if req.description is not None:
            printed = str(cert.values.get(f"policies.{key}.description") or "").casefold()
            if req.description.casefold() not in printed:
                continue
        out.append(key)
    return out


def phase(cert: CertView, key: str, today: dt.date) -> str:
    """in_force, future or past on ``today``.  Unknown and unreviewed dates count as in
    force: such a policy is judged, and the checks then say what is missing or unreviewed
    (an unreviewed date never puts a policy out of the running)."""
    start, end = (cert.reviewed_date(f"policies.{key}.{a}")
                  for a in ("effective_date", "expiration_date"))
    if end is not None and end <= today:
        return "past"
    if start is not None and start > today:
        return "future"
    return "in_force"


def candidates(certs: list[CertView], req: LineRequirement, today: dt.date
               ) -> tuple[str | None, list[tuple[CertView, str]]]:
    """The policies that may answer ``req``: those of the best phase (in force, else future,
    else past) on the newest certificate that has one, longest-running first."""
    found = [(c, k) for c in sorted(certs, key=CertView.order, reverse=True)
             for k in _policies(c, req)]
    for wanted in ("in_force", "future", "past"):
        group = [(c, k) for c, k in found if phase(c, k, today) == wanted]
        if group:
            newest = group[0][0]

            def runs_until(item: tuple[CertView, str]) -> dt.date:
                c, k = item
                return parse_date(c.values.get(f"policies.{k}.expiration_date")) or dt.date.max
            return wanted, sorted([g for g in group if g[0] is newest], key=runs_until,
                                  reverse=True)
    return None, []


def _rank(reasons: list[Reason]) -> int:
    """How serious a set of reasons is: 0 none, up to len(SEVERITY) for expired."""
    return max((len(SEVERITY) - SEVERITY.index(r.severity) for r in reasons), default=0)


class _Judge:
    """Collects the reasons for one vendor."""

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.reasons: list[Reason] = []

    def add(self, severity: str, kind: str, message: str, **where: Any) -> None:
        self.reasons.append(Reason(severity, kind, message, **where))

    def trusted(self, cert: CertView, path: str, what: str, req: str | None) -> bool:
        """False (and a pending reason) when the value at ``path`` awaits review."""
        if cert.trusted(path):
            return True
        read = cert.values.get(path)
        shown = money(read) if isinstance(read, int) and not isinstance(read, bool) else read
        if isinstance(shown, str) and len(shown) > 60:  # a description: its start will do
            shown = shown[:57].rstrip() + "..."
        self.add("pending_review", "review", f"{what} needs review (read {shown!r})"
                 if read is not None else f"{what} needs review",
                 requirement=req, certificate_id=cert.certificate_id, path=path)
        return False

    def line(self, cert: CertView, key: str, req: LineRequirement, expiring_days: int) -> None:
        label = line_label(req.name)
        base = f"policies.{key}"
        where = {"requirement": req.name, "certificate_id": cert.certificate_id}
        number = cert.values.get(f"{base}.policy_number") or "(no number)"

        for limit, minimum in req.limits.items():
            path = f"{base}.limits.{limit}"
            what = f"{label} {LIMIT_LABELS.get(limit, limit)}"
            if not self.trusted(cert, path, what, req.name):
                continue
            raw = cert.values.get(path)
            amount = first_amount(raw) if isinstance(raw, str) else raw
            if amount is None:
                self.add("deficient", "limit",
                         f"{what} not shown; required {money(minimum)}", path=path, **where)
            elif amount < minimum:
                self.add("deficient", "limit",
                         f"{what} {money(amount)} < required {money(minimum)}",
                         path=path, **where)

        for attr, wanted, what in (
            ("additional_insured", req.additional_insured, "additional insured"),
            ("subrogation_waived", req.subrogation_waived, "waiver of subrogation"),
            ("per_statute", req.per_statute, "per statute"),
        ):
            path = f"{base}.{attr}"
            if wanted and self.trusted(cert, path, f"{label} {what}", req.name) \
                    and cert.values.get(path) is not True:
                self.add("deficient", attr, f"{label} {what} not marked; required",
                         path=path, **where)

        if req.occurrence_basis:
            path = f"{base}.occurrence_basis"
            basis = cert.values.get(path)
            if self.trusted(cert, path, f"{label} occurrence basis", req.name) \
                    and basis != req.occurrence_basis:
                shown = basis.replace("_", "-") if basis else "occurrence basis not shown"
                self.add("deficient", "occurrence_basis",
                         f"{label} {shown}; required {req.occurrence_basis.replace('_', '-')}",
                         path=path, **where)

        self.period(cert, base, label, number, expiring_days, where)

    def period(self, cert: CertView, base: str, label: str, number: str, expiring_days: int,
               where: dict[str, Any]) -> None:
        path = f"{base}.effective_date"
        start = parse_date(cert.values.get(path))
        if self.trusted(cert, path, f"{label} effective date", where["requirement"]) \
                and start and start > self.today:
            self.add("deficient", "not_in_force",
                     f"{label} policy {number} starts {start.isoformat()} (not in force yet)",
                     path=path, **where)
        path = f"{base}.expiration_date"
        if not self.trusted(cert, path, f"{label} expiration date", where["requirement"]):
            return
        raw = cert.values.get(path)
        end = parse_date(raw)
        if end is None:
            shown = "not shown" if raw in (None, "") else f"not a date ({raw})"
            self.add("deficient", "no_expiration", f"{label} expiration date {shown}",
                     path=path, **where)
        elif end <= self.today:
            self.add("expired", "expired", f"{label} policy {number} expired {end.isoformat()}",
                     path=path, **where)
        elif (end - self.today).days <= expiring_days:
            days = (end - self.today).days
            self.add("expiring", "expiring", f"{label} policy {number} expires "
                     f"{end.isoformat()}, in {days} day{'s' if days != 1 else ''}",
                     path=path, **where)


def _phrase(text: str) -> str:
    text = text.casefold().replace("&", " and ").replace("-", " ")
    return " ".join(re.sub(r"[^\w ]+", " ", text).split())


def evaluate(profile: Profile, certs: list[CertView], today: dt.date,
             awaiting: list[tuple[int, str | None]] = ()) -> Evaluation:
    """The vendor's status under ``profile`` on ``today``.  ``awaiting``: certificates
    (id, insured name as read) that may be the vendor's but wait for a reviewer's match
    decision; while any does, the outcome is not settled."""
    waiting = [Reason("pending_review", "match", f"certificate {cid} (insured "
                      f"{name or 'not read'}) awaits a vendor match decision",
                      certificate_id=cid) for cid, name in awaiting]
    if not certs:
        if waiting:
            return Evaluation("pending_review", waiting)
        return Evaluation("missing", [Reason("missing", "no_certificate",
                                             "no certificate on file")])
    judge = _Judge(today)
    chosen: dict[str, tuple[int, str]] = {}
    used: dict[int, CertView] = {}
    for req in profile.lines:
        when, group = candidates(certs, req, today)
        if not group:
            judge.add("deficient", "missing_line",
                      f"{line_label(req.name)} not on any certificate; required",
                      requirement=req.name)
            continue
        (cert, key), reasons = _best(group, req, profile.expiring_days, today)
        if when == "in_force" and any(r.kind == "expiring" for r in reasons) \
                and _renewal_on_file(certs, req, profile.expiring_days, today,
                                     parse_date(cert.values.get(f"policies.{key}.expiration_date"))):
            reasons = [r for r in reasons if r.kind != "expiring"]
        chosen[req.name] = (cert.certificate_id, key)
        used[cert.certificate_id] = cert
        judge.reasons.extend(reasons)
    if not used:
        newest = max(certs, key=CertView.order)
        used[newest.certificate_id] = newest
    _certificate_checks(judge, profile, list(used.values()))
    reasons = judge.reasons + waiting
    status = next((s for s in SEVERITY if any(r.severity == s for r in reasons)), "compliant")
    return Evaluation(status, reasons, chosen)


def _best(group: list[tuple[CertView, str]], req: LineRequirement, expiring_days: int,
          today: dt.date) -> tuple[tuple[CertView, str], list[Reason]]:
    """Of several policies that may answer a requirement, the one that meets it best (the
    first, longest-running, on a tie)."""
    judged = []
    for cert, key in group:
        j = _Judge(today)
        j.line(cert, key, req, expiring_days)
        judged.append(((cert, key), j.reasons))
    return min(judged, key=lambda item: _rank(item[1]))


def _renewal_on_file(certs: list[CertView], req: LineRequirement, expiring_days: int,
                     today: dt.date, ends: dt.date | None) -> bool:
    """A future policy of the line, starting (by a reviewed date) no later than the current
    one ``ends``, that meets the requirement once in force: no gap, no shortfall."""
    if ends is None:
        return False
    for cert in certs:
        for key in _policies(cert, req):
            start = cert.reviewed_date(f"policies.{key}.effective_date")
            if phase(cert, key, today) != "future" or start is None or start > ends:
                continue
            j = _Judge(today)
            j.line(cert, key, req, expiring_days)
            if not [r for r in j.reasons if r.kind not in ("not_in_force", "expiring")]:
                return True
    return False


def _certificate_checks(judge: _Judge, profile: Profile, used: list[CertView]) -> None:
    if profile.certificate_holder:
        wanted = normalize_name(profile.certificate_holder)
        for cert in used:
            path = "certificate_holder.name"
            if not judge.trusted(cert, path, "certificate holder", None):
                continue
            holder = cert.values.get(path)
            if not holder or score(normalize_name(str(holder)), wanted) < AUTO:
                shown = f"certificate holder {holder} is not" if holder else \
                    "certificate holder not shown; required"
                judge.add("deficient", "holder", f"{shown} {profile.certificate_holder}",
                          certificate_id=cert.certificate_id, path=path)
    for phrase in profile.description_must_contain:
        path = "description_of_operations"
        # Only a reviewed (or confidently read) description can satisfy a phrase.
        texts = [_phrase(str(c.values.get(path) or "")) for c in used if c.trusted(path)]
        if any(_phrase(phrase) in t for t in texts):
            continue
        pending = [c for c in used if not c.trusted(path)]
        if pending:
            for cert in pending:
                judge.trusted(cert, path, "description of operations", None)
        else:
            judge.add("deficient", "description",
                      f"description of operations lacks '{phrase}'", path=path)
