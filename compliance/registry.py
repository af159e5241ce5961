"""The vendor registry: adding and finding vendors, and a reviewer's decisions about which
vendor a certificate belongs to.  Re-evaluating after a change is the caller's part
(``compliance.service.refresh``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from compliance.match import normalize_name
from models.orm import Certificate, utcnow
from models.orm_vendors import Vendor, VendorMatch


class VendorError(ValueError):
    """A vendor command that cannot be done as asked (the message says why)."""


@dataclass
class VendorRow:
    """One vendor to add or change; None for a profile or e-mail means "keep" (or, for a new
    vendor, the default profile)."""

    name: str
    profile: str | None = None
    email: str | None = None
    line: int = 0  # in the file it came from, for messages


def add_vendors(engine: Engine, rows: list[VendorRow], *, default_profile: str,
                update: bool = False) -> tuple[int, int]:
    """Add (or, with ``update``, change) vendors in one transaction: all or none.  A name
    that normalizes like another vendor's (``Acme Roofing, L.L.C.`` beside ``Acme Roofing
    LLC``) is refused: its certificates could then never be told apart.  Returns (added,
    changed)."""
    added = changed = 0
    with Session(engine) as s, s.begin():
        by_key = {v.key: v for v in s.scalars(select(Vendor))}
        problems = []
        for row in rows:
            name = " ".join(row.name.split())
            key = normalize_name(name)
            where = f"line {row.line}: " if row.line else ""
            if not key:
                problems.append(f"{where}{row.name!r} is not a usable vendor name")
                continue
            known = by_key.get(key)
            if known is not None and known.id is None:
                problems.append(f"{where}{name!r}: the same name as {known.name!r} above, "
                                "once legal suffixes and punctuation are set aside")
                continue
            if known is not None and (known.name != name or not update):
                problems.append(f"{where}{name!r}: vendor {known.name!r} (id {known.id}) "
                                "exists already" + (" (import --update changes it)"
                                                    if known.name == name else ""))
                continue
            if known is not None:
                known.profile = row.profile or known.profile
                known.email = row.email or known.email
                changed += 1
                continue
            vendor = Vendor(name=name, key=key, profile=row.profile or default_profile,
                            email=row.email)  # id None until the flush at commit
            by_key[key] = vendor
            added += 1
        if problems:
            raise VendorError("\n".join(problems))
        s.add_all(v for v in by_key.values() if v.id is None)
    return added, changed


def add_vendor(engine: Engine, name: str, profile: str, email: str | None = None) -> None:
    add_vendors(engine, [VendorRow(name, profile, email)], default_profile=profile)


def find_vendor(s: Session, ref: str) -> Vendor:
    """A vendor by id or by name (exact, else normalized); VendorError when none or many."""
    if ref.isdigit() and (v := s.get(Vendor, int(ref))) is not None:
        return v
    exact = s.scalar(select(Vendor).where(Vendor.name == ref))
    if exact is not None:
        return exact
    same = list(s.scalars(select(Vendor).where(Vendor.key == normalize_name(ref))))
    if len(same) == 1:
        return same[0]
    if same:
        raise VendorError(f"{ref!r} names several vendors: "
                          + ", ".join(v.name for v in same))
    raise VendorError(f"no vendor {ref!r} (see `coi vendor list`)")


def decide_match(engine: Engine, certificate_id: int, vendor_ref: str | None,
                 user: str, *, not_candidate: bool = False) -> int | None:
    """A reviewer's answer about a certificate's vendor: ``vendor_ref`` (it is that
    vendor's), None (it is no vendor's: never matched again), or ``not_candidate`` (not the
    proposed vendor's: matching goes on among the others, new vendors included).  Returns
    the vendor it was attached to or proposed for before, whose status may change too."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        cert = s.get(Certificate, certificate_id)
        if cert is None:
            raise VendorError(f"no certificate {certificate_id}")
        row = s.get(VendorMatch, certificate_id)
        if row is None:
            row = VendorMatch(certificate_id=certificate_id, score=0.0, rejected_vendor_ids=[])
            s.add(row)
        before = row.vendor_id
        row.insured_name, row.decided_at = cert.insured_name, utcnow()
        if not_candidate:
            if row.vendor_id is None:
                raise VendorError(f"certificate {certificate_id} has no candidate vendor")
            row.rejected_vendor_ids = sorted({*(row.rejected_vendor_ids or []), row.vendor_id})
            row.vendor_id, row.state, row.decided_by = None, "unmatched", "auto"
            row.vendors_seen = 0  # match it again
        elif vendor_ref is not None:
            row.vendor_id, row.state = find_vendor(s, vendor_ref).id, "attached"
            row.decided_by = user
        else:
            row.vendor_id, row.state, row.decided_by = None, "rejected", user
        return before
