"""The pure rules of visit guests: their signaling identity, their label, the cap of two."""

from __future__ import annotations

import uuid

import pytest

from telehealth.errors import Conflict
from telehealth.visits import rules


def test_a_guests_signaling_id_round_trips_and_is_never_a_users() -> None:
    guest = uuid.uuid4()
    user_id = rules.guest_user_id(guest)
    assert rules.guest_id_of(user_id) == guest
    # A user's id is a bare UUID: never taken for a guest.
    assert rules.guest_id_of(str(uuid.uuid4())) is None
    assert rules.guest_id_of("guest-not-a-uuid") is None
    assert rules.guest_id_of("") is None


def test_the_room_shows_a_guest_with_their_role() -> None:
    assert rules.guest_label("Ana", "caregiver") == "Ana (caregiver)"
    assert rules.guest_label("Ivo", "interpreter") == "Ivo (interpreter)"
    assert rules.guest_label("Sam", "other") == "Sam (guest)"


def test_two_guests_fit_a_third_does_not() -> None:
    rules.check_may_invite(0)
    rules.check_may_invite(1)
    with pytest.raises(Conflict) as refused:
        rules.check_may_invite(2)
    assert refused.value.code == "too_many_guests"
