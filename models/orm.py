"""The database schema as SQLAlchemy 2 typed ORM classes.

``fields`` is the source of truth: one row per field path of a certificate, holding the value
exactly as the record carries it (JSON).  ``certificates``, ``insurers``, ``policies`` and
``limits`` are a projection of those rows for SQL queries ("every policy expiring next month");
``models.store.rebuild_projection`` is the only code that writes them, and it runs whenever the
fields of a certificate change, so the two views cannot disagree.

Only portable types are used (JSON via ``sqlalchemy.JSON``, no SQLite specifics) so the same
models and migrations run on PostgreSQL.  Every constraint is named through the metadata naming
convention: migrations can then refer to them by name on every backend, and the autogenerate
comparison in the tests sees identical names on both sides.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DOC_STATUSES = ("processed", "failed", "not_a_certificate")
FIELD_STATUSES = ("accepted", "needs_review", "confirmed", "corrected")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    # Timestamps are set in Python rather than by server defaults: identical behaviour on
    # every backend, and nothing for the migration/ORM drift check to disagree about.
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back naive (it has no time zone type); they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Document(Base):
    """One input file, identified by the SHA-256 of its bytes."""

    __tablename__ = "documents"
    __table_args__ = (CheckConstraint(f"status IN ({_in(DOC_STATUSES)})", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file: Mapped[str] = mapped_column(String(512))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str | None] = mapped_column(String(100))
    pages: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # JSON object keys are strings, so page numbers come back as "1", "2", ...
    page_errors: Mapped[dict[str, Any]] = mapped_column(JSON)
    page_kinds: Mapped[dict[str, Any]] = mapped_column(JSON)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    # One per certificate in the file, in page order (a batch scan holds several).
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Certificate.ordinal",
    )

    @property
    def certificate(self) -> Certificate | None:
        """The first certificate (the only one, in all but batch scans)."""
        return self.certificates[0] if self.certificates else None


class Certificate(Base):
    """A certificate read from a processed document (projection of its fields)."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer, default=1)  # 1, 2, ... within the document
    certificate_date: Mapped[dt.date | None] = mapped_column(Date)
    producer_name: Mapped[str | None] = mapped_column(Text)
    producer_address: Mapped[str | None] = mapped_column(Text)
    producer_contact: Mapped[str | None] = mapped_column(Text)
    producer_phone: Mapped[str | None] = mapped_column(Text)
    producer_fax: Mapped[str | None] = mapped_column(Text)
    producer_email: Mapped[str | None] = mapped_column(Text)
    insured_name: Mapped[str | None] = mapped_column(Text)
    insured_address: Mapped[str | None] = mapped_column(Text)
    certificate_holder_name: Mapped[str | None] = mapped_column(Text)
    certificate_holder_address: Mapped[str | None] = mapped_column(Text)
    description_of_operations: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="certificates")
    fields: Mapped[list[Field]] = relationship(
        back_populates="certificate", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Field.id",
    )
    insurers: Mapped[list[Insurer]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Insurer.letter"
    )
    policies: Mapped[list[Policy]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Policy.position"
    )


class Insurer(Base):
    __tablename__ = "insurers"
    __table_args__ = (UniqueConstraint("certificate_id", "letter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE")
    )
    letter: Mapped[str] = mapped_column(String(1))
    name: Mapped[str | None] = mapped_column(Text)
    naic: Mapped[str | None] = mapped_column(Text)


class Policy(Base):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("certificate_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(64))  # the path segment: general_liability, other#2
    line: Mapped[str] = mapped_column(String(32), index=True)
    position: Mapped[int] = mapped_column(Integer)  # form order, as in the record
    insurer: Mapped[str | None] = mapped_column(String(1))
    policy_number: Mapped[str | None] = mapped_column(Text, index=True)
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    expiration_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    additional_insured: Mapped[bool | None] = mapped_column(Boolean)
    subrogation_waived: Mapped[bool | None] = mapped_column(Boolean)
    # The line's extra keys (occurrence_basis, autos, retention, description, ...).
    extras: Mapped[dict[str, Any]] = mapped_column(JSON)

    limits: Mapped[list[Limit]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Limit.id"
    )


class Limit(Base):
    __tablename__ = "limits"
    __table_args__ = (UniqueConstraint("policy_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(BigInteger)  # dollars
    text: Mapped[str | None] = mapped_column(Text)  # the `other` line's printed limit text


class Field(Base):
    """The authoritative value of one field path, with where/how it was read."""

    __tablename__ = "fields"
    __table_args__ = (
        UniqueConstraint("certificate_id", "path"),
        CheckConstraint(f"status IN ({_in(FIELD_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE")
    )
    path: Mapped[str] = mapped_column(String(255))
    # nullable: a field can be known to exist yet have no value (a reviewer cleared it).
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    page: Mapped[int] = mapped_column(Integer)
    bbox: Mapped[list[int]] = mapped_column(JSON)  # [x0, y0, x1, y1] at PAGE_DPI
    raw: Mapped[str] = mapped_column(Text)
    notes: Mapped[list[str]] = mapped_column(JSON)
    # Optimistic concurrency.  The ORM adds "AND version = <loaded>" to every UPDATE of a
    # field, so two reviewers (or processes) can never silently overwrite each other on any
    # backend or isolation level.  The counter is set by hand (version_id_generator=False)
    # because a "confirm" changes nothing else yet must still count as a new version.
    version: Mapped[int] = mapped_column(Integer, default=1)

    certificate: Mapped[Certificate] = relationship(back_populates="fields")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Correction(Base):
    """Append-only audit trail of reviewer actions; rows are never updated or deleted."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    field_id: Mapped[int] = mapped_column(
        ForeignKey("fields.id", ondelete="CASCADE"), index=True
    )
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(255))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    old_status: Mapped[str | None] = mapped_column(String(32))
    new_status: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


INBOX_OUTCOMES = ("processed", "not_a_certificate", "failed", "duplicate", "refused")


class InboxFile(Base):
    """Each file the watcher took from the inbox, and where it went: the link between a file
    in ``archive/`` or ``quarantine/`` and its document (the same bytes arriving twice are
    two rows and one document)."""

    __tablename__ = "inbox_files"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({_in(INBOX_OUTCOMES)})", name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The claim folder's name under processing/: a claim finished again after a crash
    # updates its row instead of adding one.  None for files refused without a claim.
    claim: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)  # where it was, relative to the inbox
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # None: unreadable
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(32))
    folder: Mapped[str] = mapped_column(String(16))  # archive | quarantine | inbox (retried)
    location: Mapped[str] = mapped_column(Text)  # where it is now, relative to the root
    reason: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A reviewer account (``coi user add``); the password only as an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A signed-in browser.  The cookie holds a random token; only its SHA-256 is stored, so
    a copy of the database signs nobody in.  ``csrf`` is the session's form token."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class PageImage(Base):
    """A page of a processed document as the reader saw it (upright, deskewed), as a small
    JPEG at ``dpi``, so that the review page can draw the field boxes over it."""

    __tablename__ = "page_images"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    page: Mapped[int] = mapped_column(Integer, primary_key=True)
    dpi: Mapped[int] = mapped_column(Integer)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


# The compliance tables share Base; importing them here keeps Base.metadata complete.
from models import orm_vendors  # noqa: E402,F401
