"""The patient's whole record as one FHIR R4 collection Bundle."""

from __future__ import annotations

import uuid
from typing import Any

from telehealth.care import service as care
from telehealth.care.fhir import episode_resources
from telehealth.catalog.store import CatalogStore
from telehealth.notes import fhir
from telehealth.notes.reports import patient_fhir_resources_in
from telehealth.unit_of_work import Services, UnitOfWork


async def patient_record_in(
    uow: UnitOfWork, services: Services, catalogs: CatalogStore, patient_id: uuid.UUID
) -> dict[str, Any]:
    """Patient, Practitioners, the signed notes' Appointments, Encounters, Conditions, Procedures
    and home-exercise CarePlans, and each episode of care with its plan, goals and diagnoses;
    everything in the actor's scope, read at one moment."""
    resources = await patient_fhir_resources_in(uow, services, catalogs, patient_id)
    catalog = await catalogs.current(uow.session)
    _name, episodes = await care.episodes_of_patient_in(uow, catalog, patient_id)
    present = {(r["resourceType"], r["id"]) for r in resources}
    for episode in episodes:
        # The lead therapist is named even before any note of theirs is signed.
        lead = ("Practitioner", str(episode.therapist_id))
        if lead not in present:
            family, given = fhir.split_name(episode.therapist_name)
            resources.append(fhir.practitioner_resource(lead[1], family, given))
            present.add(lead)
        resources.extend(episode_resources(episode, catalog))
    return fhir.bundle(
        resources,
        "collection",
        bundle_id=str(uuid.uuid4()),
        timestamp=uow.now,
        base_url=f"{services.settings.public_url}/fhir",
    )
