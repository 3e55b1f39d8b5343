"""Reports count signed notes only and match hand-computed figures; the CSV says the same."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import T0, People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    ok_json,
    open_and_save,
    signable_note,
    write_signed_note,
)

NEW_YORK = ZoneInfo("America/New_York")


def _low_back_note() -> dict:
    return signable_note(
        diagnoses=[{"code": "M54.50"}],
        interventions=[
            {
                "technique": "therapeutic-exercise",
                "region": "lower_back",
                "minutes": 30,
                "parameters": {
                    "exercises": [
                        {
                            "exercise": "bird-dog",
                            "sets": 2,
                            "repetitions": 10,
                            "per_day": 1,
                            "per_week": 5,
                        }
                    ]
                },
            },
            {
                "technique": "joint-mobilization",
                "region": "lower_back",
                "minutes": 16,
                "parameters": {"joint": "L4-L5", "grade": "II", "direction": "PA glides"},
            },
        ],
    )


def _local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


# Hand-computed from the notes below, by (condition, technique): (visits, minutes, units).
# Hip note (sample): TE 23 min, joint mob 10, myofascial 8, IASTM 5 = 46 timed minutes -> 3 units;
# 97110 gets 1 whole + the tie-break unit = 2, 97140 (23 min over three lines) gets 1, which goes
# to its longest line (joint mobilization). Two hip visits double that.
# Low back note: TE 30 -> 2 units, joint mob 16 -> 1 unit (46 min -> 3 units).
EXPECTED = {
    ("hip-osteoarthritis", "therapeutic-exercise"): (2, 46, 4),
    ("hip-osteoarthritis", "joint-mobilization"): (2, 20, 2),
    ("hip-osteoarthritis", "myofascial-release"): (2, 16, 0),
    ("hip-osteoarthritis", "iastm"): (2, 10, 0),
    ("low-back-pain", "therapeutic-exercise"): (1, 30, 2),
    ("low-back-pain", "joint-mobilization"): (1, 16, 1),
}


async def test_technique_report_matches_hand_computed_figures(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    sam = await people.make(Role.THERAPIST, "Sam Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    bob = await people.make(Role.PATIENT, "Bob Patient")
    admin = await people.make(Role.ADMIN)
    dana_h = await bearer(client, dana)
    sam_h = await bearer(client, sam)

    # In range (2 to 6 March, New York): two hip visits and one low back visit. The last hip
    # visit is 23:30 on the 6th in New York, already the 7th in UTC: it counts.
    v1 = await make_visit(services, alice, dana, T0)
    v2 = await make_visit(services, bob, sam, _local(2026, 3, 3, 10))
    v3 = await make_visit(services, alice, dana, _local(2026, 3, 6, 23, 30), minutes=20)
    await write_signed_note(client, dana_h, v1, signable_note())
    await write_signed_note(client, sam_h, v2, _low_back_note())
    await write_signed_note(client, dana_h, v3, signable_note())
    # Not counted: a draft in range, and a signed visit just after the range (00:30 on the 7th).
    v4 = await make_visit(services, bob, sam, _local(2026, 3, 4, 10))
    await open_and_save(client, sam_h, v4, _low_back_note())
    v5 = await make_visit(services, bob, sam, _local(2026, 3, 7, 0, 30))
    await write_signed_note(client, sam_h, v5, _low_back_note())

    admin_h = await bearer(client, admin)
    query = "?start=2026-03-02&end=2026-03-06"
    report = await ok_json(await client.get(f"{API}/reports/techniques{query}", headers=admin_h))
    got = {
        (r["condition_id"], r["technique_id"]): (r["visits"], r["minutes"], r["units"])
        for r in report["rows"]
    }
    assert got == EXPECTED
    assert report["notes"] == 3
    assert report["total_minutes"] == 46 * 3
    assert report["total_units"] == 9
    # Rows are ordered by condition name, then most used.
    assert report["rows"][0]["condition"] == "Low back pain"

    response = await client.get(f"{API}/reports/techniques.csv{query}", headers=admin_h)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [
        (r["condition_id"], r["technique_id"], int(r["visits"]), int(r["minutes"]), int(r["units"]))
        for r in rows
    ] == [
        (r["condition_id"], r["technique_id"], r["visits"], r["minutes"], r["units"])
        for r in report["rows"]
    ]

    # Admins only; a bad range is 422.
    await assert_error_shape(
        await client.get(f"{API}/reports/techniques{query}", headers=dana_h), 403
    )
    bad = await client.get(
        f"{API}/reports/techniques?start=2026-03-06&end=2026-03-01", headers=admin_h
    )
    await assert_error_shape(bad, 422, "invalid_input")


async def test_treatment_history_of_a_patient(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    sam = await people.make(Role.THERAPIST, "Sam Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    admin = await people.make(Role.ADMIN)
    await people.assign(alice, dana)
    dana_h = await bearer(client, dana)
    first = await make_visit(services, alice, dana, T0)
    second = await make_visit(services, alice, dana, _local(2026, 3, 5, 9))
    draft = await make_visit(services, alice, dana, _local(2026, 3, 9, 9))
    await write_signed_note(client, dana_h, second, _low_back_note())
    await write_signed_note(client, dana_h, first, signable_note())
    await open_and_save(client, dana_h, draft, signable_note())

    history = await ok_json(
        await client.get(f"{API}/patients/{alice.id}/treatment-history", headers=dana_h)
    )
    entries = history["entries"]
    assert [e["appointment_id"] for e in entries] == [str(first), str(second)]
    assert entries[0]["conditions"][0] == {
        "code": "M16.11",
        "name": "Primary osteoarthritis of the hip",
    }
    assert {t["technique_id"]: (t["minutes"], t["units"]) for t in entries[0]["techniques"]} == {
        "therapeutic-exercise": (23, 2),
        "joint-mobilization": (10, 1),
        "myofascial-release": (8, 0),
        "iastm": (5, 0),
    }
    assert entries[1]["therapist_name"] == "Dana Therapist"

    # Another therapist: 404. The admin sees the patient but, without the setting, no notes.
    await assert_error_shape(
        await client.get(
            f"{API}/patients/{alice.id}/treatment-history", headers=await bearer(client, sam)
        ),
        404,
        "not_found",
    )
    as_admin = await ok_json(
        await client.get(
            f"{API}/patients/{alice.id}/treatment-history", headers=await bearer(client, admin)
        )
    )
    assert as_admin["entries"] == []
