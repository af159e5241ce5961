"""Tables of the compliance side: vendors, which certificate belongs to which vendor, each
vendor's evaluated status, and the notices sent when a status changes.

They live on the same declarative ``Base`` as the record tables (``models.orm`` imports this
module at its end, so ``Base.metadata`` always holds every table).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.orm import Base, _in, utcnow

VENDOR_STATUSES = ("compliant", "deficient", "expiring", "expired", "missing", "pending_review")
# attached: the certificate counts for the vendor.  review: a likely vendor, not attached
# until a reviewer says so (or the insured's name itself awaits review).  unmatched: no
# vendor is close.  rejected: a reviewer said the certificate belongs to no vendor.
MATCH_STATES = ("attached", "review", "unmatched", "rejected")
NOTICE_STATES = ("pending", "sending", "sent", "failed")
CHANNELS = ("webhook", "email")


class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    # The name as matched: casefolded, punctuation and legal suffixes removed.
    key: Mapped[str] = mapped_column(String(300), index=True)
    profile: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VendorMatch(Base):
    """Which vendor a certificate belongs to, matched on the insured's name."""

    __tablename__ = "vendor_matches"
    __table_args__ = (CheckConstraint(f"state IN ({_in(MATCH_STATES)})", name="state"),)

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True)
    # The attached vendor, or the candidate a reviewer should look at (state review).
    vendor_id: Mapped[int | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    insured_name: Mapped[str | None] = mapped_column(Text)  # as it was matched
    # Candidates a reviewer turned down ("not this vendor"): matching goes on without them
    # (until the insured's name is corrected: then every vendor is a candidate again).
    rejected_vendor_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # "auto" for the matcher; a reviewer's name once a person decided (never re-matched).
    decided_by: Mapped[str] = mapped_column(String(200), default="auto")
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The highest vendor id when the matcher last looked: a certificate is matched again
    # only when its insured's name changed or a vendor was added since (ids, not clocks: a
    # vendor committed late or by another host is still seen).
    vendors_seen: Mapped[int] = mapped_column(Integer, default=0)


class VendorStatus(Base):
    """The current evaluation of a vendor against its profile."""

    __tablename__ = "vendor_status"
    __table_args__ = (CheckConstraint(f"status IN ({_in(VENDOR_STATUSES)})", name="status"),)

    vendor_id: Mapped[int] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    # What notices are about (compliance.service.alert_of): the status, or "expiring" for a
    # vendor pending review whose expiring policy is settled.
    alert: Mapped[str | None] = mapped_column(String(32))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Counts the status changes: (vendor, seq) names one change, which notices refer to.
    seq: Mapped[int] = mapped_column(Integer, default=1)
    as_of: Mapped[dt.date] = mapped_column(Date)
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notice(Base):
    """One message about one status change to one target.  The unique key makes a change
    notified once per target however often (and by however many processes) it is evaluated."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("vendor_id", "seq", "channel", "target"),
        CheckConstraint(f"state IN ({_in(NOTICE_STATES)})", name="state"),
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"),
                                           index=True)
    seq: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)  # the URL, or the comma-joined addresses
    status: Mapped[str] = mapped_column(String(32))  # what it is about: the alert (status)
    previous: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                         default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
