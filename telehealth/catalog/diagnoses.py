"""Diagnosis search: the clinic's catalog codes (its favourites) first, then the whole code set."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telehealth.catalog.loader import Catalog

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class DiagnosisHit:
    """A code found for the picker: its title, whether it is billable, whether the clinic lists it."""

    code: str
    name: str
    billable: bool
    favourite: bool
    condition_id: str | None = None
    condition: str | None = None


@dataclass(frozen=True)
class _Term:
    plain: str  # as a code prefix, without the dot
    words: tuple[str, ...]  # as word starts

    @classmethod
    def of(cls, term: str) -> _Term:
        return cls(term.replace(".", "").upper(), tuple(_WORD.findall(term.lower())))

    def matches(self, code: str, words: tuple[str, ...]) -> bool:
        if code.replace(".", "").startswith(self.plain):
            return True
        return bool(self.words) and all(any(w.startswith(p) for w in words) for p in self.words)


def search_diagnoses(catalog: Catalog, query: str, limit: int) -> list[DiagnosisHit]:
    """Codes matching every term of the query (a code prefix or the start of a word), favourites first.

    A favourite also matches on the clinic's own name of its condition ("sacroiliac joint
    dysfunction" finds M46.1), so the words therapists use find the codes the clinic chose.
    Favourites keep the catalog's order; the rest come in the code set's ranking.
    """
    terms = [_Term.of(t) for t in query.split()]
    if not terms or limit < 1:
        return []
    hits: list[DiagnosisHit] = []
    seen: set[str] = set()
    for favourite in catalog.favourites:
        if not all(t.matches(favourite.code, favourite.words) for t in terms):
            continue
        seen.add(favourite.code)
        hits.append(
            DiagnosisHit(
                code=favourite.code,
                name=favourite.title,
                billable=catalog.codes.is_billable(favourite.code),
                favourite=True,
                condition_id=favourite.condition.id,
                condition=favourite.condition.name,
            )
        )
        if len(hits) >= limit:
            return hits
    for hit in catalog.codes.search(query, limit + len(seen)):
        if hit.code in seen:
            continue
        hits.append(DiagnosisHit(hit.code, hit.description, hit.billable, favourite=False))
        if len(hits) >= limit:
            break
    return hits
