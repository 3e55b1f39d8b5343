"""Message bodies from templates (web/templates/mail): plain text and HTML of one message.

Features hand over the facts in words already (times in the reader's zone, the policy sentence);
the templates only lay them out, so the same facts read the same in both bodies.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import jinja2

from telehealth.notifications.rules import Kind
from telehealth.resources import web_dir


@dataclass(frozen=True)
class AppointmentNotice:
    """What a message about one appointment says."""

    kind: Kind
    clinic_name: str
    clinic_phone: str
    patient_name: str
    type_name: str
    therapist_name: str
    when: str
    virtual: bool
    appointment_url: str
    book_url: str
    policy: str
    previous_when: str | None = None


@dataclass(frozen=True)
class PasswordResetNotice:
    """What a message with a link to set a new password says."""

    clinic_name: str
    clinic_phone: str
    person_name: str
    reset_url: str
    minutes: int
    forgot_url: str


@dataclass(frozen=True)
class Composed:
    """A message's subject and bodies."""

    subject: str
    text: str
    html: str


_SUBJECTS = {
    Kind.BOOKED: "Your visit is booked: {when}",
    Kind.CHANGED: "Your visit has moved: {when}",
    Kind.CANCELLED: "Your visit is cancelled: {when}",
}


@functools.cache
def _environment() -> jinja2.Environment:
    # The HTML bodies are escaped, the plain text ones are not (they are not markup).
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(web_dir() / "templates" / "mail"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def compose_appointment(notice: AppointmentNotice) -> Composed:
    """The subject and bodies of a message about an appointment."""
    context = asdict(notice) | {"kind": notice.kind.value}
    subject = f"{notice.clinic_name}: " + _SUBJECTS[notice.kind].format(when=notice.when)
    return Composed(
        subject=subject,
        text=_environment().get_template("appointment.txt").render(context),
        html=_environment().get_template("appointment.html").render(context),
    )


def compose_password_reset(notice: PasswordResetNotice) -> Composed:
    """The subject and bodies of a message with a link to set a new password."""
    context = asdict(notice)
    return Composed(
        subject=f"{notice.clinic_name}: Set a new password",
        text=_environment().get_template("password_reset.txt").render(context),
        html=_environment().get_template("password_reset.html").render(context),
    )
