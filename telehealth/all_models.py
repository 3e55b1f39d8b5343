"""Imports every feature's models so that Base.metadata knows all tables (for Alembic and tests)."""

from __future__ import annotations

from telehealth import idempotency
from telehealth.accounts import models as accounts_models
from telehealth.audit import models as audit_models
from telehealth.care import models as care_models
from telehealth.catalog import models as catalog_models
from telehealth.home_program import models as home_program_models
from telehealth.intake import models as intake_models
from telehealth.measures import models as measures_models
from telehealth.notes import models as notes_models
from telehealth.notifications import models as notifications_models
from telehealth.orm import Base
from telehealth.scheduling import models as scheduling_models
from telehealth.visits import models as visits_models

metadata = Base.metadata
__all__ = [
    "accounts_models",
    "audit_models",
    "care_models",
    "catalog_models",
    "home_program_models",
    "idempotency",
    "intake_models",
    "measures_models",
    "metadata",
    "notes_models",
    "notifications_models",
    "scheduling_models",
    "visits_models",
]
