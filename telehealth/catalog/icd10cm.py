"""The whole ICD-10-CM code set (the CDC tabular shipped by `simple-icd-10-cm`), typed and searchable.

The package parses the CDC tabular XML when it is first imported (seconds of CPU), so the code set
is loaded once per process, in a worker thread at start-up (`load_code_set`), and the app keeps the
resulting `CodeSet` with its catalog. Per-code questions (billable, Excludes1, 7th character,
laterality) are lookups in the package's parsed tree; word search runs on an index built here once.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import re
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType, ModuleType
from typing import Any, Literal

# The edition the installed package ships; the catalog test fails when another release is
# installed, so the edition (and the catalog's codes) are checked again on every upgrade.
PACKAGE = "simple-icd-10-cm"
PACKAGE_VERSION = "1.5.0"
EDITION = "ICD-10-CM FY2026, April 1, 2026 update (CDC tabular)"

MAX_QUERY_CHARS = 100
MAX_RESULTS = 50

Side = Literal["right", "left", "bilateral", "unspecified"]

# A code in the dotted form the notes store: letter, two characters, then up to four after the dot.
CODE_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
# What a person types for a code: "m54.5", "M545", "S73.101a" (with or without the dot).
_CODE_QUERY = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z]{0,5}\.?[0-9A-Za-z]{0,4}$")
_WORD = re.compile(r"[a-z0-9]+")
_REF_CODE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_PARENTHESES = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class CodeHit:
    """One code found by a search: the code, its full title and whether it may be billed."""

    code: str
    description: str
    billable: bool


@dataclass(frozen=True)
class Excludes1:
    """An Excludes1 note that applies to a code: the note's own code, its text and its references."""

    noted_at: str
    text: str
    references: tuple[tuple[str, str], ...]

    def covers(self, code: str) -> bool:
        """Whether a code falls under one of the note's references (a prefix or a range)."""
        plain = code.replace(".", "")
        return any(_in_reference(plain, start, end) for start, end in self.references)


def _in_reference(plain: str, start: str, end: str) -> bool:
    if start == end:
        return plain.startswith(start)
    return plain[: len(start)] >= start and plain[: len(end)] <= end


def _references(text: str) -> tuple[tuple[str, str], ...]:
    """The codes an Excludes1 note points at, as (start, end) prefixes without dots.

    The tabular writes them in parentheses: "(M51.360)", "(M54.4-)", "(M50.-)", "(M00-M25)",
    "(I70.2--I70.7-)". References qualified in words ("E08-E13 with .44") are left out: matching
    them by prefix would refuse unrelated pairs, and a refused signature is worse than a missed note.
    """
    found: list[tuple[str, str]] = []
    for group in _PARENTHESES.findall(text):
        for item in group.split(","):
            if " with " in f" {item} " or not item.strip():
                continue
            codes = list(_REF_CODE.finditer(item))
            index = 0
            while index < len(codes):
                start = codes[index].group().replace(".", "")
                end = start
                if index + 1 < len(codes):
                    between = item[codes[index].end() : codes[index + 1].start()]
                    if between.replace(" ", "").strip(".") in ("-", "--", ".-"):
                        end = codes[index + 1].group().replace(".", "")
                        index += 1
                found.append((start, end))
                index += 1
    return tuple(found)


@dataclass(frozen=True)
class _Index:
    codes: tuple[str, ...]  # dotted, in tabular order
    descriptions: tuple[str, ...]
    billable: tuple[bool, ...]
    lengths: tuple[int, ...]  # words in the title: fewer extra words reads as a closer match
    words: tuple[str, ...]  # sorted vocabulary
    postings: Mapping[str, frozenset[int]]
    plain_sorted: tuple[str, ...]  # dotless codes, sorted, for prefix search
    plain_order: tuple[int, ...]  # index of each plain_sorted code


@dataclass(frozen=True)
class CodeSet:
    """The ICD-10-CM code set: validity, billability, notes and search over every code."""

    edition: str
    load_seconds: float
    _icd: ModuleType = field(repr=False, compare=False)
    _index: _Index = field(repr=False, compare=False)
    _by_code: Mapping[str, int] = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self._index.codes)

    def is_valid(self, code: str) -> bool:
        """Whether the code (dotted, upper case) is a category, subcategory or full code."""
        return code in self._by_code

    def is_billable(self, code: str) -> bool:
        """Whether the code is a leaf of the tabular (a code that may go on a claim)."""
        index = self._by_code.get(code)
        return index is not None and self._index.billable[index]

    def description(self, code: str) -> str | None:
        """The code's full title, or None when it is not in the code set."""
        index = self._by_code.get(code)
        return None if index is None else self._index.descriptions[index]

    def children(self, code: str) -> tuple[str, ...]:
        """The codes directly below a code (empty for a billable code or an unknown one)."""
        if not self.is_valid(code):
            return ()
        return tuple(str(c) for c in self._icd.get_children(code))

    def parent(self, code: str) -> str | None:
        """The code directly above (a category's parent is its block, which is not a code)."""
        if not self.is_valid(code):
            return None
        parent = str(self._icd.get_parent(code))
        return parent if parent in self._by_code else None

    def seventh_characters(self, code: str) -> Mapping[str, str]:
        """The 7th characters a code takes (A initial encounter, D subsequent, S sequela ...)."""
        if not self.is_valid(code):
            return MappingProxyType({})
        values: dict[str, str] = self._icd.get_seven_chr_def(code, search_in_ancestors=True)
        return MappingProxyType({str(k): str(v) for k, v in values.items()})

    def needs_seventh_character(self, code: str) -> bool:
        """Whether the code lacks only its 7th character (S73.101 -> S73.101A/D/S, S33.6 -> S33.6XXA)."""
        children = self.children(code)
        if not children or self.is_billable(code):
            return False
        sevenths = self.seventh_characters(code)
        return bool(sevenths) and all(
            len(child.replace(".", "")) == 7 and child[-1] in sevenths for child in children
        )

    def excludes1(self, code: str) -> tuple[Excludes1, ...]:
        """The Excludes1 notes in force for a code: its own and those of every code and block above."""
        if not self.is_valid(code):
            return ()
        found: list[Excludes1] = []
        for holder in [code, *(str(a) for a in self._icd.get_ancestors(code))]:
            for text in self._icd.get_excludes1(holder):
                references = _references(str(text))
                if references:
                    found.append(Excludes1(holder, str(text), references))
        return tuple(found)

    def excludes1_pair(self, first: str, second: str) -> Excludes1 | None:
        """The Excludes1 note that forbids coding the two together (either way round), if any."""
        for code, other in ((first, second), (second, first)):
            for note in self.excludes1(code):
                if note.covers(other):
                    return note
        return None

    def side(self, code: str) -> Side | None:
        """The side a code stands for; "unspecified" when it has sided siblings; else None."""
        if not self.is_valid(code):
            return None
        own = _side_words(self.description(code) or "")
        if own is not None:
            return own
        sides = self._sided_siblings(code)
        if "right" in sides and "left" in sides and _says_unspecified(self.description(code)):
            return "unspecified"
        return None

    def has_laterality(self, code: str) -> bool:
        """Whether the code belongs to a right/left choice (so the side must be coded)."""
        sides = self._sided_siblings(code)
        return "right" in sides and "left" in sides

    def sided_variant(self, code: str, side: Side) -> str | None:
        """The code for the same condition on another side, keeping the 7th character."""
        sibling = self._sided_siblings(code).get(side)
        if sibling is None or self.parent(sibling) == self.parent(code):
            return sibling
        # The side sits above the 7th character (S73.109A -> S73.101 + A).
        extended = sibling + code[len(self._base(code)) :]
        return extended if self.is_valid(extended) else None

    def _base(self, code: str) -> str:
        # A 7th-character code (S73.101A) shares its side with the code above it (S73.101).
        parent = self.parent(code)
        if parent is not None and self.needs_seventh_character(parent):
            return parent
        return code

    def _sided_siblings(self, code: str) -> dict[str, str]:
        # The side is the code's own last character (M17.11, E11.3211) or, for 7th-character
        # codes, the character before the extension (S73.101A).
        for base in dict.fromkeys((code, self._base(code))):
            parent = self.parent(base)
            if parent is None:
                continue
            sides: dict[str, str] = {}
            for sibling in self.children(parent):
                side = _side_words(self.description(sibling) or "")
                if side is None and _says_unspecified(self.description(sibling)):
                    side = "unspecified"
                if side is not None:
                    sides.setdefault(side, sibling)
            if "right" in sides and "left" in sides:
                return sides
        return {}

    def search(self, query: str, limit: int = 20) -> list[CodeHit]:
        """Codes whose code starts with, or whose title has words starting with, every query term."""
        ids = self.matching(query)
        best = heapq.nsmallest(limit, ids, key=self._rank_key(query))
        return [self.hit(self._index.codes[i]) for i in best]

    def matching(self, query: str) -> set[int]:
        """Positions of every code matching all terms of the query (see `search`)."""
        terms = query.split()
        if not terms:
            return set()
        found: set[int] | None = None
        for term in sorted(terms, key=len, reverse=True):
            ids = self._term(term)
            found = ids if found is None else found & ids
            if not found:
                return set()
        return found or set()

    def every_code(self) -> Iterator[CodeHit]:
        """Every code of the set, in tabular order."""
        index = self._index
        for code, description, billable in zip(
            index.codes, index.descriptions, index.billable, strict=True
        ):
            yield CodeHit(code, description, billable)

    def hit(self, code: str) -> CodeHit:
        """The search answer for one known code."""
        index = self._by_code[code]
        return CodeHit(code, self._index.descriptions[index], self._index.billable[index])

    def _term(self, term: str) -> set[int]:
        ids: set[int] = set()
        if _CODE_QUERY.fullmatch(term):
            plain = term.replace(".", "").upper()
            index = self._index
            start = bisect.bisect_left(index.plain_sorted, plain)
            end = bisect.bisect_left(index.plain_sorted, plain + "\x7f")
            ids.update(index.plain_order[start:end])
        # A term like "post-traumatic" carries several words: each of them must match.
        words = _WORD.findall(term.lower())
        if words:
            by_words = self._word(words[0])
            for word in words[1:]:
                by_words &= self._word(word)
            ids |= by_words
        return ids

    def _word(self, prefix: str) -> set[int]:
        index = self._index
        start = bisect.bisect_left(index.words, prefix)
        end = bisect.bisect_left(index.words, prefix + "\x7f")
        found: set[int] = set()
        for word in index.words[start:end]:
            found |= index.postings[word]
        return found

    def _rank_key(self, query: str) -> Any:
        plain = query.strip().replace(".", "").upper()
        index = self._index

        def key(i: int) -> tuple[int, int, int]:
            code = index.codes[i].replace(".", "")
            # The code typed exactly, then its descendants by depth, then titles by closeness.
            if code == plain:
                return (0, 0, i)
            if code.startswith(plain):
                return (1, len(code), i)
            return (2 if index.billable[i] else 3, index.lengths[i], i)

        return key


_SIDE_WORDS: tuple[Side, ...] = ("right", "left", "bilateral")


def _side_words(description: str) -> Side | None:
    words = set(_WORD.findall(description.lower()))
    sides = [side for side in _SIDE_WORDS if side in words]
    return sides[0] if len(sides) == 1 else None


def _says_unspecified(description: str | None) -> bool:
    return "unspecified" in _WORD.findall((description or "").lower())


def _import_package() -> ModuleType:
    # The 1.5.0 release reads its data with importlib.resources.read_text/open_text, deprecated
    # on Python 3.11 and 3.12; the data is the same either way, so that one warning is silenced.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"(read|open)_text is deprecated", category=DeprecationWarning
        )
        import simple_icd_10_cm

    module: ModuleType = simple_icd_10_cm
    return module


def _build_index(icd: ModuleType, codes: Iterable[str]) -> _Index:
    listed: list[str] = []
    descriptions: list[str] = []
    billable: list[bool] = []
    lengths: list[int] = []
    postings: dict[str, set[int]] = {}
    inherited: dict[str, frozenset[str]] = {}
    for code in codes:
        if not CODE_SHAPE.fullmatch(code) or not icd.is_category_or_subcategory(code):
            continue
        position = len(listed)
        description = str(icd.get_description(code))
        listed.append(code)
        descriptions.append(description)
        billable.append(bool(icd.is_leaf(code)))
        words = _WORD.findall(description.lower())
        lengths.append(len(words))
        # Inclusion terms ("Coccygodynia" under M53.3, "Frozen shoulder" under M75.0) are found
        # too, on the code and every code below it: they are the words clinicians use.
        included = set(inherited.get(str(icd.get_parent(code)), ()))
        for term in icd.get_inclusion_term(code):
            included.update(_WORD.findall(str(term).lower()))
        if included:
            inherited[code] = frozenset(included)
        for word in set(words) | included:
            postings.setdefault(word, set()).add(position)
    plain = sorted((code.replace(".", ""), i) for i, code in enumerate(listed))
    return _Index(
        codes=tuple(listed),
        descriptions=tuple(descriptions),
        billable=tuple(billable),
        lengths=tuple(lengths),
        words=tuple(sorted(postings)),
        postings=MappingProxyType({w: frozenset(ids) for w, ids in postings.items()}),
        plain_sorted=tuple(p for p, _ in plain),
        plain_order=tuple(i for _, i in plain),
    )


# Two applications in one process (tests, a second instance beside the first) may start loading
# at the same moment from two worker threads; the package's module state is not built for that, so
# the first load runs alone and the other waits for its result.
_LOADING = threading.Lock()


def load_code_set() -> CodeSet:
    """Parse the shipped tabular and index it (seconds of CPU: call in a worker thread).

    Cached for the process: the package keeps its parsed tree in module state anyway, and the
    index built from it never changes while the process runs.
    """
    with _LOADING:
        return _load_once()


@functools.cache
def _load_once() -> CodeSet:
    started = time.perf_counter()
    icd = _import_package()
    index = _build_index(icd, (str(c) for c in icd.get_all_codes(with_dots=True)))
    return CodeSet(
        edition=EDITION,
        load_seconds=time.perf_counter() - started,
        _icd=icd,
        _index=index,
        _by_code=MappingProxyType({code: i for i, code in enumerate(index.codes)}),
    )


def installed_version() -> str:
    """The installed release of the code-set package."""
    return metadata.version(PACKAGE)
