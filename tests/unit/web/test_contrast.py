"""Colour contrast of the stylesheets, by the WCAG 2 formula, read from the CSS itself: a colour
change that drops the eyebrow below 4.5:1 or the focus ring below 3:1 fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[3] / "web" / "static" / "css"
HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
VARIABLE = re.compile(r"--([\w-]+)\s*:\s*([^;]+);")
FILL = re.compile(r"(?:background(?:-color)?|border(?:-color)?)\s*:\s*([^;}]+)")
REFERENCE = re.compile(r"var\(--([\w-]+)\)")


def _stylesheets() -> str:
    return "\n".join(path.read_text() for path in sorted(CSS.glob("*.css")))


def _variables() -> dict[str, str]:
    return {name: value.split("/*")[0].strip() for name, value in VARIABLE.findall(_stylesheets())}


def colour(name: str) -> str:
    """The hex value of a custom property, following var() references."""
    value = _variables()[name]
    while (reference := REFERENCE.fullmatch(value)) is not None:
        value = _variables()[reference.group(1)]
    assert HEX.fullmatch(value), f"--{name} is {value}, expected a hex colour"
    return value


def _fills() -> set[str]:
    """Every solid colour a background or border is painted in, anywhere in the stylesheets."""
    found: set[str] = set()
    for declaration in FILL.findall(_stylesheets()):
        found.update(h.lower() for h in HEX.findall(declaration))
        found.update(colour(name) for name in REFERENCE.findall(declaration) if name != "shadow")
    return found


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance."""
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    r, g, b = (_channel(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_formula_matches_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#fff", "#ffffff") == 1


# The eyebrow sits on the page, on cards, and on the white paper a printed note comes out on.
@pytest.mark.parametrize("surface", ["paper", "card", "brand-ink"])
def test_the_eyebrow_reads_at_4_5_to_1_on_every_surface(surface: str) -> None:
    assert contrast(colour("accent"), colour(surface)) >= 4.5


def test_the_two_focus_rings_stand_out_from_each_other() -> None:
    assert contrast(colour("focus"), colour("focus-inner")) >= 3


def test_some_focus_ring_stands_out_3_to_1_against_every_fill_in_the_stylesheets() -> None:
    # The ring is drawn outside the element: the inner ring touches the element's own fill or
    # border, the outer one the surface around it. Any of those colours may be either, so on
    # every fill the stylesheets paint, at least one of the two rings must reach 3:1.
    fills = _fills()
    assert {colour("paper"), colour("card"), colour("brand"), colour("danger")} <= fills
    weak = {
        fill: (
            round(contrast(colour("focus"), fill), 2),
            round(contrast(colour("focus-inner"), fill), 2),
        )
        for fill in fills
        if max(contrast(colour("focus"), fill), contrast(colour("focus-inner"), fill)) < 3
    }
    assert not weak, weak


@pytest.mark.parametrize("surface", ["paper", "card", "brand-soft"])
def test_the_outer_ring_alone_stands_out_on_light_surfaces(surface: str) -> None:
    # On a light surface the white inner ring is invisible; the dark one carries the indicator.
    assert contrast(colour("focus"), colour(surface)) >= 3
