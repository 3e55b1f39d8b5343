"""The clinic's phone number, when set, is on every page (with a call link) and where the sign-in
page says to call the clinic; unset, no page shows an empty number."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.http.templates import tel_href
from tests.conftest import People
from tests.integration.helpers import sign_in


def test_call_links_keep_the_digits_and_a_leading_plus() -> None:
    assert tel_href("(555) 010-0142") == "tel:5550100142"
    assert tel_href(" +1 555 010 0142 ") == "tel:+15550100142"
    assert tel_href("+44 20 7946 0958 ext. 2") == "tel:+442079460958"
    assert tel_href("555-0142 x12") == "tel:5550142"


async def test_the_number_is_on_every_page_when_set(
    aiohttp_client: Any, settings: Settings, clock: ManualClock
) -> None:
    app = create_app(
        replace(settings, clinic_phone="(555) 010-0142", clinic_hours="Mon-Fri 8 AM-6 PM"), clock
    )
    client: TestClient = await aiohttp_client(app)
    login = await (await client.get("/login")).text()
    assert 'Call the clinic at <a href="tel:5550100142">(555) 010-0142</a>' in login
    assert "(Mon-Fri 8 AM-6 PM)" in login  # the footer
    patient = await People(app[SERVICES]).make(Role.PATIENT)
    await sign_in(client, patient)
    for path in ("/", "/book", "/my/exercises", "/me/details", "/no-such-page"):
        page = await (await client.get(path)).text()
        assert '<a href="tel:5550100142">(555) 010-0142</a> (Mon-Fri 8 AM-6 PM)' in page, path


async def test_no_number_shows_when_none_is_set(client: TestClient) -> None:
    login = await (await client.get("/login")).text()
    assert "tel:" not in login
    assert "Call the clinic and we will help you." in login
