"""The running app's catalog: packaged entries loaded once at start, admin extras merged from the DB.

The packaged JSON is read and validated once, in a worker thread, when the app starts, together
with the ICD-10-CM code set it is checked against. That load takes seconds of CPU, so the app
starts serving at once and the first request that needs the catalog waits for it. Admin
additions live in `catalog_extras` (one document per version). Each service call asks for the
catalog inside its own transaction; the store compares the newest extras version with the one it
merged last and rebuilds only when it changed, so an entry added through one app instance is in
force on every instance from the next request on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.catalog.loader import Catalog, CatalogExtras, load_catalog, parse_extras
from telehealth.catalog.models import CatalogExtrasVersion


class CatalogStore:
    """The packaged catalog plus the newest admin extras, rebuilt when the extras change."""

    def __init__(self, base: Catalog | asyncio.Future[Catalog]) -> None:
        if isinstance(base, Catalog):
            loaded: asyncio.Future[Catalog] | None = None
            self._base: Catalog | None = base
        else:
            loaded, self._base = base, None
        self._loading = loaded
        self._version = 0
        self._current: Catalog | None = self._base
        self._extras = CatalogExtras()

    async def packaged(self) -> Catalog:
        """The packaged catalog (waits for the start-up load the first time)."""
        if self._base is None:
            assert self._loading is not None
            self._base = await asyncio.shield(self._loading)
            if self._current is None:
                self._current = self._base
        return self._base

    async def latest_version(self, session: AsyncSession) -> int:
        """The newest extras version stored (0 when admins added nothing)."""
        return int(await session.scalar(select(func.max(CatalogExtrasVersion.version))) or 0)

    async def current(self, session: AsyncSession) -> Catalog:
        """The catalog in force, read inside the caller's transaction."""
        base = await self.packaged()
        version = await self.latest_version(session)
        if version != self._version or self._current is None:
            document = await session.scalar(
                select(CatalogExtrasVersion.document).where(CatalogExtrasVersion.version == version)
            )
            extras = parse_extras(document or {})
            self._current = base.with_extras(extras, check_codes=False)
            self._extras = extras
            self._version = version
        return self._current

    async def extras(self, session: AsyncSession) -> tuple[int, CatalogExtras]:
        """The extras in force and their version."""
        await self.current(session)
        return self._version, self._extras

    async def merged(self, document: Mapping[str, Any]) -> Catalog:
        """Validate an extras document against the packaged catalog (InvalidInput names fields)."""
        return (await self.packaged()).with_extras(parse_extras(document))


logger = logging.getLogger(__name__)

CATALOG: web.AppKey[CatalogStore] = web.AppKey("catalog", CatalogStore)


async def _load(app: web.Application) -> AsyncIterator[None]:
    # Reading the packaged JSON and the code set is blocking work: a worker thread, started now
    # and awaited by the first request that needs the catalog.
    loading = asyncio.ensure_future(asyncio.to_thread(load_catalog))
    loading.add_done_callback(_report)
    app[CATALOG] = CatalogStore(loading)
    try:
        yield
    finally:
        loading.cancel()


def _report(loading: asyncio.Future[Catalog]) -> None:
    # Every request that needs the catalog fails with this error too; the log says it once.
    if not loading.cancelled() and (error := loading.exception()) is not None:
        logger.error("the catalog could not be loaded", exc_info=error)
    elif not loading.cancelled():
        codes = loading.result().codes
        logger.info("catalog loaded; %s, %d codes", codes.edition, len(codes))


def setup(app: web.Application) -> None:
    """Load the catalog when the app starts, under the CATALOG key."""
    app.cleanup_ctx.append(_load)
