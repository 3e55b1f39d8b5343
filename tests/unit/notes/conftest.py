from __future__ import annotations

import pytest

from telehealth.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The packaged catalog, loaded once as the app does at start-up."""
    return load_catalog()
