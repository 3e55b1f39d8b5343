"""A complete, valid daily note as the visit page would send it."""

from __future__ import annotations

import copy
from typing import Any

_DAILY: dict[str, Any] = {
    "note_type": "daily",
    "subjective": "Right hip ache 6/10 after gardening; sleeps poorly on the right side.",
    "objective": "Hip flexion 100°, IR limited and painful; Trendelenburg sign positive on right.",
    "assessment": "Progressing; tolerates loading. Café owner keeps standing for long hours.",
    "plan": "Continue hip strengthening and mobilization twice weekly for 4 weeks.",
    "diagnoses": [{"code": "M16.11", "laterality": "right"}, {"code": "M54.50"}],
    "interventions": [
        {
            "technique": "therapeutic-exercise",
            "region": "hip",
            "side": "right",
            "minutes": 23,
            "parameters": {
                "exercises": [
                    {
                        "exercise": "bridge",
                        "sets": 2,
                        "repetitions": 10,
                        "per_day": 1,
                        "per_week": 5,
                    },
                    {
                        "exercise": "clamshell",
                        "sets": 2,
                        "repetitions": 12,
                        "hold_seconds": 2,
                        "per_day": 1,
                        "per_week": 5,
                    },
                ]
            },
        },
        {
            "technique": "joint-mobilization",
            "region": "hip",
            "side": "right",
            "minutes": 10,
            "parameters": {"joint": "hip", "grade": "III", "direction": "long-axis distraction"},
        },
        {
            "technique": "myofascial-release",
            "region": "hip",
            "side": "right",
            "minutes": 8,
            "parameters": {"muscles": ["piriformis", "gluteus medius"], "trigger_points": ["TP1"]},
        },
        {
            "technique": "iastm",
            "region": "lower_back",
            "side": "bilateral",
            "minutes": 5,
            "parameters": {"instrument": "stainless steel edge tool", "area": "lumbar paraspinals"},
        },
    ],
    "home_program": [
        {
            "exercise": "bridge",
            "sets": 2,
            "repetitions": 10,
            "hold_seconds": 3,
            "per_day": 1,
            "per_week": 5,
        },
        {
            "exercise": "piriformis-stretch",
            "sets": 1,
            "repetitions": 3,
            "hold_seconds": 30,
            "per_day": 2,
            "per_week": 7,
            "note": "Use the chair version at work.",
        },
    ],
    "pain_before": 6,
    "pain_after": 4,
    "patient_message": "Great work today. Keep the bridges slow and steady.",
}


def daily_note() -> dict[str, Any]:
    """A fresh deep copy, so each test can change it freely."""
    return copy.deepcopy(_DAILY)
