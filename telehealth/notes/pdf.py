"""Lay out a signed note's record (notes.record) as a PDF with fpdf2.

CPU work that also reads the font files: callers run it in a worker thread. Text is set in
DejaVu Sans, a Unicode TrueType font (names like "Zoë Müller", signs like "≤"), taken from the
system's font folders; without it the PDF falls back to the PDF core font Helvetica, which holds
Latin-1 only, and characters outside it are spelled out or replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from telehealth.notes.record import NoteRecord

# Where Debian/Ubuntu (fonts-dejavu-core), Fedora, Arch and Alpine put DejaVu Sans.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
)
FAMILY = "DejaVu"
FALLBACK_FAMILY = "Helvetica"
# Characters the records use that Latin-1 lacks, spelled for the core-font fallback.
_LATIN1_SPELLING = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)


@dataclass(frozen=True)
class FontFiles:
    """A regular and a bold TrueType file of one family."""

    regular: Path
    bold: Path


def find_font(dirs: Iterable[Path] = FONT_DIRS) -> FontFiles | None:
    """DejaVu Sans (regular and bold) from the first folder holding both, or None."""
    for folder in dirs:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return FontFiles(regular, bold)
    return None


class _RecordPdf(FPDF):
    # fpdf2's documented way to repeat a footer on every page is to override footer().
    def __init__(self, family: str, running_title: str) -> None:
        super().__init__(format="A4")
        self.footer_family = family
        self.running_title = running_title

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.footer_family, size=8)
        self.cell(0, 5, f"{self.running_title} · page {self.page_no()}/{{nb}}", align="C")


def render_pdf(record: NoteRecord, font: FontFiles | None) -> bytes:
    """The record as PDF bytes: title, header facts, then each section's lines in order."""
    unicode_font = font is not None

    def text(value: str) -> str:
        if unicode_font:
            return value
        return value.translate(_LATIN1_SPELLING).encode("latin-1", "replace").decode("latin-1")

    patient = next((value for label, value in record.facts if label == "Patient"), "")
    family = FAMILY if font is not None else FALLBACK_FAMILY
    pdf = _RecordPdf(family, text(f"{patient} · {record.title}"))
    if font is not None:
        pdf.add_font(FAMILY, "", str(font.regular))
        pdf.add_font(FAMILY, "B", str(font.bold))
    pdf.set_title(text(record.title))
    pdf.set_subject(text(f"Signed visit note: {patient}"))
    pdf.set_creator("telehealth")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(18, 16, 18)
    pdf.add_page()

    def write(value: str, size: float = 10, bold: bool = False, indent: float = 0) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(
            pdf.epw - indent, size * 0.5, text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    write(record.title, size=15, bold=True)
    pdf.ln(2)
    for label, value in record.facts:
        write(f"{label}: {value}")
    for section in record.sections:
        pdf.ln(3)
        write(section.heading, size=12, bold=True)
        for index, line in enumerate(section.lines):
            write(line)
            details = section.details[index] if index < len(section.details) else ()
            for detail in details:
                write(detail, size=9, indent=6)
    return bytes(pdf.output())
