"""People, their sessions, login throttles and trusted sign-in devices."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

# Defined beside the actor (every actor has one), so the kernel imports no feature; re-exported
# here for the code that names it with the people.
from telehealth.actors import Role as Role
from telehealth.orm import Base, uuid_pk


class User(Base):
    """Anyone who can sign in: patients, therapists and admins."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    date_of_birth: Mapped[date | None] = mapped_column(Date, default=None)
    # A patient's own preferences (rules.ContactChannel; the emergency contact given whole or not
    # at all), read by the therapists on the patient's care team.
    preferred_contact: Mapped[str | None] = mapped_column(String(16), default=None)
    emergency_name: Mapped[str | None] = mapped_column(String(120), default=None)
    emergency_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    emergency_relationship: Mapped[str | None] = mapped_column(String(60), default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)


class CareAssignment(Base):
    """A therapist on a patient's care team: the therapist may see that patient's records."""

    __tablename__ = "care_assignments"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    therapist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class AuthSession(Base):
    """A signed-in session. Only the SHA-256 of the token is stored, so a database leak signs nobody in."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(256))

    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id"),)


class LoginThrottle(Base):
    """Failed-login counter for one key: an account (hashed email) or a client address."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class LoginDevice(Base):
    """A browser that has signed in to an account: it may keep trying when the account is locked.

    Only the SHA-256 of the cookie's token is stored. The password stamp ties the device to the
    password it signed in with, so any change of password revokes every device at once.
    """

    __tablename__ = "login_devices"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    password_stamp: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_login_devices_user_id", "user_id"),)


class PasswordResetToken(Base):
    """A single-use link, sent by email, that lets its account's owner set a new password.

    Only the SHA-256 of the token is stored (telehealth.tokens), so the table opens nothing. It
    lasts `rules.RESET_LINK_LIFETIME`; `used_at` is set by the one request that spends it.
    """

    __tablename__ = "password_reset_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_password_reset_tokens_user_id", "user_id"),)
