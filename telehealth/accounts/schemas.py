"""Request and response models of the accounts API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import ConfigDict, Field

from telehealth.http.schemas import (
    QueryModel,
    RequestModel,
    ResponseModel,
    SafeStr,
    ZoneName,
)
from telehealth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

RoleName = Literal["patient", "therapist", "admin"]


class LoginIn(RequestModel):
    """Credentials."""

    email: SafeStr = Field(min_length=3, max_length=254)
    password: SafeStr = Field(min_length=1, max_length=256)


class PersonOut(ResponseModel):
    """An account as the API shows it (never the password hash)."""

    id: uuid.UUID
    email: str
    display_name: str
    role: RoleName
    is_active: bool
    time_zone: str
    phone: str | None = None
    date_of_birth: date | None = None
    created_at: datetime


class LoginOut(ResponseModel):
    """A new session: use token as a bearer token, or rely on the cookie set with it."""

    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    csrf_token: str
    expires_in: int
    user: PersonOut


class MeOut(ResponseModel):
    """The signed-in person."""

    user: PersonOut
    csrf_token: str


class PersonIn(RequestModel):
    """A new account, created by an admin."""

    email: SafeStr = Field(min_length=3, max_length=254)
    display_name: SafeStr = Field(min_length=1, max_length=120)
    role: RoleName
    password: SafeStr = Field(min_length=10, max_length=256)
    time_zone: ZoneName = Field(default="America/New_York", max_length=64)
    phone: SafeStr | None = Field(default=None, max_length=32)
    date_of_birth: date | None = None


class RegisterIn(RequestModel):
    """A patient creating their own account."""

    email: SafeStr = Field(min_length=3, max_length=254)
    display_name: SafeStr = Field(min_length=1, max_length=120)
    password: SafeStr = Field(min_length=10, max_length=256)
    time_zone: ZoneName = Field(default="America/New_York", max_length=64)
    phone: SafeStr | None = Field(default=None, max_length=32)
    date_of_birth: date | None = None


class PersonPatch(RequestModel):
    """Admin changes to an account."""

    display_name: SafeStr | None = Field(default=None, min_length=1, max_length=120)
    is_active: bool | None = None
    time_zone: ZoneName | None = Field(default=None, max_length=64)
    phone: SafeStr | None = Field(default=None, max_length=32)


class OwnPatch(RequestModel):
    """What a person may change of their own account."""

    display_name: SafeStr | None = Field(default=None, min_length=1, max_length=120)
    time_zone: ZoneName | None = Field(default=None, max_length=64)
    phone: SafeStr | None = Field(default=None, max_length=32)


class PasswordChangeIn(RequestModel):
    """Change my own password: the current one proves it is me, the new one follows the policy
    of registration (at least 10 characters, not the email address; `accounts.rules`)."""

    # A password is checked as it was typed, as the sign-in form checks it: stripping spaces
    # here would store, or compare, another password than the person typed.
    model_config = ConfigDict(**{**RequestModel.model_config, "str_strip_whitespace": False})

    current_password: SafeStr = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: SafeStr = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class PasswordChangeForm(RequestModel):
    """The password page's form (`http.forms.parse_form`): an empty field is left out, and the
    page, not the model, says in words which one is missing or breaks the policy."""

    model_config = ConfigDict(**{**RequestModel.model_config, "str_strip_whitespace": False})

    current_password: SafeStr = Field(default="", max_length=MAX_PASSWORD_LENGTH)
    new_password: SafeStr = Field(default="", max_length=MAX_PASSWORD_LENGTH)
    new_password_again: SafeStr = Field(default="", max_length=MAX_PASSWORD_LENGTH)


class ForgotPasswordForm(RequestModel):
    """The form that asks for a password reset link: the address the person signs in with."""

    email: SafeStr = Field(default="", max_length=254)


class PasswordResetForm(RequestModel):
    """The form behind a reset link: the new password, twice. As on the password page, the page
    says in words which field is missing or breaks the policy."""

    model_config = ConfigDict(**{**RequestModel.model_config, "str_strip_whitespace": False})

    new_password: SafeStr = Field(default="", max_length=MAX_PASSWORD_LENGTH)
    new_password_again: SafeStr = Field(default="", max_length=MAX_PASSWORD_LENGTH)


class PeopleQuery(QueryModel):
    """Filters of the people list."""

    role: RoleName | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=2**63 - 1)  # a SQL OFFSET is a BIGINT


class PeopleOut(ResponseModel):
    """A page of accounts."""

    items: list[PersonOut]
    total: int


class PatientsOut(ResponseModel):
    """Patients visible to the actor."""

    items: list[PersonOut]


class CareTeamIn(RequestModel):
    """Put a therapist on a patient's care team."""

    therapist_id: uuid.UUID


class CareTeamOut(ResponseModel):
    """A patient's therapists."""

    items: list[PersonOut]
