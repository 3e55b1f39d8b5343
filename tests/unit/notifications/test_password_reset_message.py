"""The password reset email: the link in both bodies, how long it works, what to do if it was
not asked for, in the clinic's name; the HTML escapes what a person typed."""

from __future__ import annotations

from telehealth.notifications.compose import PasswordResetNotice, compose_password_reset

URL = "https://clinic.example/password/reset/" + "A" * 43


def _notice(name: str = "Maria Lopez", phone: str = "555-0100") -> PasswordResetNotice:
    return PasswordResetNotice(
        clinic_name="Armor Physical Therapy",
        clinic_phone=phone,
        person_name=name,
        reset_url=URL,
        minutes=15,
        forgot_url="https://clinic.example/password/forgot",
    )


def test_both_bodies_carry_the_link_and_the_words() -> None:
    message = compose_password_reset(_notice())
    assert message.subject == "Armor Physical Therapy: Set a new password"
    for body in (message.text, message.html):
        words = " ".join(body.split())
        assert URL in body
        assert "Hello Maria Lopez," in words
        assert "works for 15 minutes, and only once" in words
        assert "If you did not ask for this, you can ignore this email." in words
        assert "https://clinic.example/password/forgot" in body
        assert "555-0100" in body
    assert f'<a href="{URL}"' in message.html


def test_the_html_escapes_a_typed_name_and_a_missing_phone_says_nothing() -> None:
    message = compose_password_reset(_notice(name="<b>Eve</b>", phone=""))
    assert "&lt;b&gt;Eve&lt;/b&gt;" in message.html and "<b>Eve</b>" not in message.html
    assert "Hello <b>Eve</b>," in message.text  # plain text is not markup
    assert "Call us" not in message.text and "tel:" not in message.html
