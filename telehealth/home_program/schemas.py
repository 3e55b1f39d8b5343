"""The Today forms, read by the page and the script alike (http.forms.parse_form)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from telehealth.home_program.rules import Difficulty

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class DoneIn(BaseModel):
    """One exercise done: which, on which day, and the id the page gave this press."""

    model_config = ConfigDict(extra="ignore")

    exercise: Annotated[str, Field(pattern=SLUG, max_length=80)]
    day: date
    client_id: uuid.UUID


class SessionLogIn(BaseModel):
    """How the session went."""

    model_config = ConfigDict(extra="ignore")

    pain: Annotated[int, Field(ge=0, le=10)]
    difficulty: Difficulty
    comment: Annotated[str, Field(max_length=1000)] = ""
    day: date
    client_id: uuid.UUID
