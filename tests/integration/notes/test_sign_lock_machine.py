"""Stateful property: whatever sequence of edits, signs, addenda and reads, signed content never
changes and its hash always verifies. Runs through the real service layer on both engines."""

from __future__ import annotations

import asyncio
import copy
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from telehealth.accounts import service as accounts
from telehealth.accounts.models import Role
from telehealth.actors import Caller
from telehealth.catalog import load_catalog
from telehealth.catalog.store import CatalogStore
from telehealth.clock import ManualClock
from telehealth.db import create_engine, create_session_factory
from telehealth.errors import Conflict, InvalidInput
from telehealth.notes import service
from telehealth.notes.canonical import content_hash
from telehealth.passwords import Passwords
from telehealth.unit_of_work import Services
from tests.conftest import PASSWORD, T0, Person, base_settings
from tests.integration.notes.helpers import make_visit, signable_note

# Text with any printable character, accents and emoji included (NUL is refused by PostgreSQL
# JSON and never comes from a browser).
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
)


@dataclass
class World:
    """One app's worth of services, shared by every example of the machine."""

    services: Services
    clock: ManualClock
    catalogs: CatalogStore
    therapist: Caller
    patient: Person
    therapist_person: Person


async def _world(tmp: Path, database_url: str) -> World:
    app_settings = base_settings(tmp, database_url)
    engine = create_engine(app_settings)
    clock = ManualClock(T0)
    services = Services(
        settings=app_settings,
        clock=clock,
        sessions=create_session_factory(engine),
        passwords=Passwords(app_settings),
    )
    made = []
    for role in (Role.THERAPIST, Role.PATIENT):
        user = await accounts.create_person_unattended(
            services,
            accounts.NewPerson(
                email=f"{role.value}-{uuid.uuid4().hex[:8]}@example.test",
                display_name=role.value.title(),
                role=role,
                password=PASSWORD,
                time_zone="America/New_York",
            ),
        )
        made.append(Person(user, PASSWORD))
    therapist, patient = made
    return World(
        services=services,
        clock=clock,
        catalogs=CatalogStore(load_catalog()),
        therapist=Caller(actor=accounts.actor_of(therapist.user), ip="127.0.0.1"),
        patient=patient,
        therapist_person=therapist,
    )


def test_signed_notes_never_change(tmp_path: Path, database_url: str) -> None:
    runner = asyncio.Runner()
    world = runner.run(_world(tmp_path, database_url))
    clock = world.clock

    class SignLock(RuleBasedStateMachine):
        """One visit's note, driven by a therapist in two tabs."""

        def __init__(self) -> None:
            super().__init__()
            self.visit = uuid.uuid4()
            self.version = 0
            self.content: dict[str, Any] = {}
            self.signed_content: dict[str, Any] | None = None
            self.signed_hash: str | None = None
            self.addenda = 0

        def call(self, coroutine: Any) -> Any:
            return runner.run(coroutine)

        @initialize()
        def open_visit(self) -> None:
            # A fresh visit per example, an hour apart so no two overlap.
            clock.advance(timedelta(hours=1))
            self.visit = self.call(
                make_visit(world.services, world.patient, world.therapist_person, clock.now())
            )
            view, created = self.call(
                service.open_note(world.services, world.catalogs, world.therapist, self.visit)
            )
            assert created
            self.version = view.note.version
            self.content = view.note.content

        @rule(
            subjective=TEXT,
            pain=st.integers(0, 10),
            complete=st.booleans(),
            stale=st.booleans(),
        )
        def edit(self, subjective: str, pain: int, complete: bool, stale: bool) -> None:
            content = signable_note(subjective=subjective, pain_after=pain)
            if not complete:
                content["diagnoses"] = []
            version = self.version - 1 if stale else self.version
            try:
                view = self.call(
                    service.save_draft(
                        world.services,
                        world.catalogs,
                        world.therapist,
                        self.visit,
                        version,
                        content,
                    )
                )
            except Conflict as exc:
                if self.signed_content is not None:
                    event("edit refused: locked")
                    assert exc.code == "note_locked"
                else:
                    assert stale and exc.code == "stale_version"
                    assert exc.details["current"]["version"] == self.version
                return
            assert self.signed_content is None and not stale
            self.content = view.note.content
            self.version = view.note.version
            assert self.content["subjective"] == subjective

        @rule()
        def sign(self) -> None:
            clock.advance(timedelta(minutes=1))
            try:
                view = self.call(
                    service.sign_note(
                        world.services, world.catalogs, world.therapist, self.visit, self.version
                    )
                )
            except Conflict as exc:
                assert self.signed_content is not None and exc.code == "note_locked"
                return
            except InvalidInput:
                assert not self.content.get("diagnoses")
                return
            assert self.signed_content is None
            event("signed")
            assert view.note.content == self.content
            self.signed_content = copy.deepcopy(view.note.content)
            self.signed_hash = view.note.content_hash
            self.version = view.note.version

        @rule(reason=TEXT, text=TEXT)
        def addend(self, reason: str, text: str) -> None:
            try:
                view = self.call(
                    service.write_addendum(
                        world.services, world.catalogs, world.therapist, self.visit, reason, text
                    )
                )
            except Conflict as exc:
                assert self.signed_content is None and exc.code == "note_not_signed"
                return
            except InvalidInput:
                # Whitespace-only reason or text.
                assert not reason.strip() or not text.strip()
                return
            self.addenda += 1
            event("addendum written")
            assert len(view.addenda) == self.addenda
            assert view.note.content == self.signed_content

        @precondition(lambda self: self.signed_content is not None)
        @rule()
        def patient_reads_summary(self) -> None:
            patient = Caller(actor=accounts.actor_of(world.patient.user), ip="127.0.0.1")
            summary = self.call(
                service.visit_summary(world.services, world.catalogs, patient, self.visit)
            )
            assert summary.summary.home_exercises

        @invariant()
        def stored_note_is_what_we_expect(self) -> None:
            view = self.call(
                service.get_note(world.services, world.catalogs, world.therapist, self.visit)
            )
            assert view.note.version == self.version
            if self.signed_content is None:
                assert view.note.status == "draft"
                assert view.note.content == self.content
                return
            assert view.note.status == "signed"
            assert view.note.content == self.signed_content
            assert view.note.content_hash == self.signed_hash == content_hash(self.signed_content)
            assert view.integrity_problems == ()
            assert len(view.addenda) == self.addenda

    try:
        run_state_machine_as_test(
            SignLock,
            settings=settings(
                max_examples=30,
                stateful_step_count=10,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        runner.run(world.services.sessions.engine.dispose())
        runner.close()
