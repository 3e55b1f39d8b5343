"""Admin additions to the catalog: one JSON document per version, the newest one in force."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base


class CatalogExtrasVersion(Base):
    """The whole set of admin additions as of one version; a new entry writes a new version."""

    __tablename__ = "catalog_extras"

    # Versions are dense: two admins adding at once both try version n+1 and one gets a 409.
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime]
