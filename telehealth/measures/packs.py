"""Instrument packs: the wording (and HOOS JR's conversion table) of licensed instruments, which
the clinic installs under its own licence. Nothing of a licensed instrument's text ships here.

A pack is a directory (setting `MEASURE_PACK_DIR`) holding `pack.json`:

    {"name": "...", "licence": {"holder": "...", "attestation": "..."},
     "instruments": {"odi": {"version": "2.1a",
                             "items": {"pain_intensity": {"asks": "...", "choices": [6 texts]}, ...}},
                     "hoos_jr": {"version": "1", "items": {...},
                                 "conversion": [25 numbers, raw 0 to 24]}}}

The attestation is the clinic's statement that it holds the licence (who, which licence, when);
an instrument is offered only with one. The pack's instrument version must equal the table's, its
items exactly the table's item keys with one choice per answer, and a conversion table must run
from 100 at raw 0 down, never up, within 0-100: a pack that breaks any of this stops start-up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from telehealth.measures.scoring import Instrument, Item, Table, TableError, load_table

PACK_FILE = "pack.json"


@dataclass(frozen=True)
class Instruments:
    """The instruments of this clinic: the table, with the pack's licensed ones filled in."""

    table_version: str
    by_key: Mapping[str, Instrument]
    pack_name: str = ""

    def get(self, key: str) -> Instrument | None:
        """The instrument, or None for a key the table does not know."""
        return self.by_key.get(key)

    @property
    def offered(self) -> list[Instrument]:
        """The instruments people may answer now, in table order."""
        return [i for i in self.by_key.values() if i.offered and i.available]


def installed(pack_dir: Path | None, table: Table | None = None) -> Instruments:
    """The table with the pack at `pack_dir` applied (None: licensed instruments unavailable)."""
    table = table or load_table()
    by_key = dict(table.instruments)
    name = ""
    if pack_dir is not None:
        try:
            raw = json.loads((pack_dir / PACK_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TableError(f"instrument pack {pack_dir}: {exc}") from None
        name, licensed = parse_pack(raw, table)
        by_key.update(licensed)
    return Instruments(table_version=table.version, by_key=by_key, pack_name=name)


def parse_pack(raw: Mapping[str, Any], table: Table) -> tuple[str, dict[str, Instrument]]:
    """Check a pack against the table; the licensed instruments it fills in."""
    attestation = str(raw.get("licence", {}).get("attestation", "")).strip()
    if not attestation:
        raise TableError("instrument pack: a licence attestation is required")
    licensed: dict[str, Instrument] = {}
    for key, spec in raw.get("instruments", {}).items():
        instrument = table.instruments.get(key)
        if instrument is None or instrument.text != "pack":
            raise TableError(f"instrument pack: {key} is not a licensed instrument of the table")
        if str(spec.get("version")) != instrument.version:
            raise TableError(
                f"instrument pack: {key} version {spec.get('version')!r},"
                f" the table scores {instrument.version!r}"
            )
        items = tuple(_item(key, item, spec.get("items", {})) for item in instrument.items)
        extra = set(spec.get("items", {})) - {item.key for item in instrument.items}
        if extra:
            raise TableError(f"instrument pack: {key} has unknown items {sorted(extra)}")
        conversion = _conversion(key, instrument, spec.get("conversion"))
        licensed[key] = replace(
            instrument,
            items=items,
            intro=str(spec.get("intro", "")),
            conversion=conversion,
            attestation=attestation,
        )
    return str(raw.get("name", "")), licensed


def _item(key: str, item: Item, specs: Mapping[str, Any]) -> Item:
    spec = specs.get(item.key)
    if not isinstance(spec, Mapping) or not str(spec.get("asks", "")).strip():
        raise TableError(f"instrument pack: {key}.{item.key} needs its wording")
    choices = tuple(str(choice) for choice in spec.get("choices", ()))
    if len(choices) != item.high - item.low + 1:
        raise TableError(f"instrument pack: {key}.{item.key} needs one choice per answer")
    return replace(item, asks=str(spec["asks"]), choices=choices)


def _conversion(key: str, instrument: Instrument, table: Any) -> tuple[float, ...]:
    if instrument.kind != "conversion":
        if table is not None:
            raise TableError(f"instrument pack: {key} takes no conversion table")
        return ()
    raw_max = sum(item.high for item in instrument.items)
    if not isinstance(table, list) or len(table) != raw_max + 1:
        raise TableError(f"instrument pack: {key} needs a conversion for raw 0 to {raw_max}")
    values = tuple(float(v) for v in table)
    if values[0] != 100.0 or any(not 0.0 <= v <= 100.0 for v in values):
        raise TableError(f"instrument pack: {key} conversion must start at 100, within 0-100")
    if any(b > a for a, b in pairwise(values)):
        raise TableError(f"instrument pack: {key} conversion must never rise with the raw score")
    return values
