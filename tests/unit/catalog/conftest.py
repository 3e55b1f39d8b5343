from __future__ import annotations

import pytest

from telehealth.catalog import Catalog, load_catalog
from telehealth.catalog.icd10cm import CodeSet, load_code_set


@pytest.fixture(scope="session")
def code_set() -> CodeSet:
    """The shipped ICD-10-CM code set, loaded once as the app does at start-up."""
    return load_code_set()


@pytest.fixture(scope="session")
def catalog(code_set: CodeSet) -> Catalog:
    """The packaged catalog, loaded once as the app does at start-up."""
    return load_catalog(codes=code_set)
