"""An episode of care as FHIR R4: EpisodeOfCare, the plan in force as a CarePlan, its goals as
Goals and its diagnoses as Conditions. Pure functions over the episode as pages see it."""

from __future__ import annotations

import uuid
from datetime import date

from telehealth.care.rules import Goal, GoalStatus
from telehealth.care.service import EpisodeView
from telehealth.catalog.loader import Catalog
from telehealth.notes.fhir import (
    CONDITION_CATEGORY_SYSTEM,
    CONDITION_CLINICAL_SYSTEM,
    CPT_SYSTEM,
    ICD10CM_SYSTEM,
    Resource,
    fhir_instant,
)

GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:telehealth:fhir:care")

# Where a goal stands, as FHIR's lifecycle and achievement codes.
_LIFECYCLE = {
    GoalStatus.IN_PROGRESS: "active",
    GoalStatus.MET: "completed",
    GoalStatus.PARTLY_MET: "completed",
    GoalStatus.NOT_MET: "completed",
    GoalStatus.DISCONTINUED: "cancelled",
}
_ACHIEVEMENT = {
    GoalStatus.IN_PROGRESS: ("in-progress", "In Progress"),
    GoalStatus.MET: ("achieved", "Achieved"),
    GoalStatus.PARTLY_MET: ("improving", "Improving"),
    GoalStatus.NOT_MET: ("not-achieved", "Not Achieved"),
    GoalStatus.DISCONTINUED: ("not-attainable", "Not Attainable"),
}


def _id(episode_id: uuid.UUID, kind: str, key: str = "") -> str:
    """Stable ids: exporting the same episode twice names the same resources."""
    return str(uuid.uuid5(_NAMESPACE, f"{episode_id}/{kind}/{key}"))


def _ref(kind: str, resource_id: str | uuid.UUID) -> dict[str, str]:
    return {"reference": f"{kind}/{resource_id}"}


def _day(value: date) -> str:
    return value.isoformat()


def _goal(episode: EpisodeView, goal: Goal, start: date) -> Resource:
    code, display = _ACHIEVEMENT[goal.status]
    resource: Resource = {
        "resourceType": "Goal",
        "id": _id(episode.id, "goal", goal.id),
        "lifecycleStatus": _LIFECYCLE[goal.status],
        "achievementStatus": {
            "coding": [{"system": GOAL_ACHIEVEMENT_SYSTEM, "code": code, "display": display}]
        },
        "category": [
            {"text": "Long-term goal" if goal.term.value == "long" else "Short-term goal"}
        ],
        "description": {"text": goal.text},
        "subject": _ref("Patient", episode.patient_id),
        "startDate": _day(start),
        "target": [
            {
                "measure": {"text": goal.measure or goal.text},
                "detailString": goal.target,
                "dueDate": _day(goal.target_date),
            }
        ],
        "note": [{"text": f"Baseline: {goal.baseline}"}],
    }
    return resource


def episode_resources(episode: EpisodeView, catalog: Catalog) -> list[Resource]:
    """The episode, its plan in force, that plan's goals and diagnoses."""
    period: dict[str, str] = {"start": fhir_instant(episode.opened_at)}
    if episode.discharged_at is not None:
        period["end"] = fhir_instant(episode.discharged_at)
    plan = episode.plan
    conditions: list[Resource] = []
    if plan is not None:
        for code in plan.draft.diagnoses:
            conditions.append(
                {
                    "resourceType": "Condition",
                    "id": _id(episode.id, "condition", code),
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": CONDITION_CLINICAL_SYSTEM,
                                "code": "active" if episode.active else "resolved",
                            }
                        ]
                    },
                    "category": [
                        {
                            "coding": [
                                {"system": CONDITION_CATEGORY_SYSTEM, "code": "problem-list-item"}
                            ]
                        }
                    ],
                    "code": {
                        "coding": [
                            {
                                "system": ICD10CM_SYSTEM,
                                "code": code,
                                "display": catalog.code_description(code),
                            }
                        ],
                        "text": catalog.diagnosis_name(code),
                    },
                    "subject": _ref("Patient", episode.patient_id),
                }
            )
    resources: list[Resource] = [
        {
            "resourceType": "EpisodeOfCare",
            "id": str(episode.id),
            "status": "active" if episode.active else "finished",
            "type": [{"text": f"Physical therapy: {episode.title}"}],
            "patient": _ref("Patient", episode.patient_id),
            "careManager": _ref("Practitioner", episode.therapist_id),
            "period": period,
            **(
                {
                    "diagnosis": [
                        {"condition": _ref("Condition", c["id"]), "rank": rank}
                        for rank, c in enumerate(conditions, start=1)
                    ]
                }
                if conditions
                else {}
            ),
        },
        *conditions,
    ]
    if plan is None:
        return resources
    goals = [_goal(episode, g, plan.draft.start_date) for g in episode.goals]
    activities = []
    for technique_id in plan.draft.interventions:
        technique = catalog.techniques.get(technique_id)
        if technique is None:
            continue
        activities.append(
            {
                "detail": {
                    "kind": "ServiceRequest",
                    "code": {
                        "coding": [{"system": CPT_SYSTEM, "code": technique.cpt}],
                        "text": technique.name,
                    },
                    "status": "in-progress" if episode.active else "completed",
                    "scheduledTiming": {
                        "repeat": {
                            "frequency": plan.draft.frequency_per_week,
                            "period": 1,
                            "periodUnit": "wk",
                        }
                    },
                    "description": f"{plan.frequency_words} {plan.duration_words}",
                }
            }
        )
    resources.append(
        {
            "resourceType": "CarePlan",
            "id": str(plan.id),
            "status": "active" if episode.active else "completed",
            "intent": "plan",
            "title": f"Plan of care: {episode.title} (version {plan.version})",
            "category": [{"text": "Physical therapy plan of care"}],
            "subject": _ref("Patient", episode.patient_id),
            "period": {"start": _day(plan.draft.start_date), "end": _day(plan.cert_end)},
            "created": fhir_instant(plan.written_at),
            "author": _ref("Practitioner", episode.therapist_id),
            "addresses": [_ref("Condition", c["id"]) for c in conditions],
            "goal": [_ref("Goal", g["id"]) for g in goals],
            "activity": activities,
            "supportingInfo": [_ref("EpisodeOfCare", episode.id)],
        }
    )
    return [*resources, *goals]
