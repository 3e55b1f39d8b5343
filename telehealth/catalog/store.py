"""The running app's catalog: packaged entries loaded once at start, admin extras merged from the DB.

The packaged JSON is read and validated once, in a worker thread, when the app starts. Admin
additions live in `catalog_extras` (one document per version). Each service call asks for the
catalog inside its own transaction; the store compares the newest extras version with the one it
merged last and rebuilds only when it changed, so an entry added through one app instance is in
force on every instance from the next request on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.catalog.loader import Catalog, CatalogExtras, load_catalog, parse_extras
from telehealth.catalog.models import CatalogExtrasVersion


class CatalogStore:
    """The packaged catalog plus the newest admin extras, rebuilt when the extras change."""

    def __init__(self, base: Catalog) -> None:
        self.base = base
        self._version = 0
        self._current = base
        self._extras = CatalogExtras()

    async def latest_version(self, session: AsyncSession) -> int:
        """The newest extras version stored (0 when admins added nothing)."""
        return int(await session.scalar(select(func.max(CatalogExtrasVersion.version))) or 0)

    async def current(self, session: AsyncSession) -> Catalog:
        """The catalog in force, read inside the caller's transaction."""
        version = await self.latest_version(session)
        if version != self._version:
            document = await session.scalar(
                select(CatalogExtrasVersion.document).where(CatalogExtrasVersion.version == version)
            )
            extras = parse_extras(document or {})
            self._current = self.base.with_extras(extras)
            self._extras = extras
            self._version = version
        return self._current

    async def extras(self, session: AsyncSession) -> tuple[int, CatalogExtras]:
        """The extras in force and their version."""
        await self.current(session)
        return self._version, self._extras

    def merged(self, document: Mapping[str, Any]) -> Catalog:
        """Validate an extras document against the packaged catalog (InvalidInput names fields)."""
        return self.base.with_extras(parse_extras(document))


CATALOG: web.AppKey[CatalogStore] = web.AppKey("catalog", CatalogStore)


async def _load(app: web.Application) -> AsyncIterator[None]:
    # Reading and validating the packaged JSON is blocking work: keep it off the event loop.
    app[CATALOG] = CatalogStore(await asyncio.to_thread(load_catalog))
    yield


def setup(app: web.Application) -> None:
    """Load the catalog when the app starts, under the CATALOG key."""
    app.cleanup_ctx.append(_load)
