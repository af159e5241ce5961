"""Reviewer accounts and sessions: argon2 password hashes, random session tokens stored
hashed, a CSRF token per session."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.orm import User, WebSession, as_utc, utcnow

SESSION_DAYS = 7
_hasher = PasswordHasher()
# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not a password anyone has")


class UserExistsError(ValueError):
    pass


@dataclass(frozen=True)
class SignedIn:
    user: str
    csrf: str


def add_user(engine: Engine, name: str, password: str) -> int:
    name = name.strip()
    if not name:
        raise ValueError("the user name is empty")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    try:
        with Session(engine) as s, s.begin():
            user = User(name=name, password_hash=_hasher.hash(password))
            s.add(user)
            s.flush()
            return user.id
    except IntegrityError:
        raise UserExistsError(f"there is already a user {name!r}") from None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(engine: Engine, name: str, password: str) -> tuple[str, SignedIn] | None:
    """A new session token for a right name and password, else None."""
    with Session(engine) as s, s.begin():
        user = s.scalar(select(User).where(User.name == name.strip()))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s.add(WebSession(token_hash=_token_hash(token), user_id=user.id, csrf=csrf,
                         expires_at=utcnow() + dt.timedelta(days=SESSION_DAYS)))
        return token, SignedIn(user.name, csrf)


def session_of(engine: Engine, token: str | None) -> SignedIn | None:
    if not token:
        return None
    with Session(engine) as s, s.begin():
        row = s.execute(select(WebSession, User.name).join(User)
                        .where(WebSession.token_hash == _token_hash(token))).first()
        if row is None:
            return None
        sess, name = row
        if as_utc(sess.expires_at) < utcnow():
            s.delete(sess)
            return None
        return SignedIn(name, sess.csrf)


def sign_out(engine: Engine, token: str | None) -> None:
    if token:
        with Session(engine) as s, s.begin():
            s.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))
