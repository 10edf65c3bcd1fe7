"""Printable badge sheets for the delegate list (issue 23, `babelroom delegates links --badges/--pdf`):
each delegate's name as written (their own script), organisation, and the QR code of their
personal sign-in link with the code beneath it.

HTML: the browser prints it with the fonts it has. PDF (fpdf2): A4, eight badges a page, names
shaped with HarfBuzz (Arabic joins and runs right to left) in Debian's Noto fonts
(fonts-noto-core, fonts-noto-cjk), only the fonts the names need, embedded as subsets.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno

NOTO_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"))
# font family -> (regular file, bold file, face in a collection)
FONTS: dict[str, tuple[str, str, int]] = {
    "sans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", 0),  # Latin, Cyrillic, Greek
    "arabic": ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", 0),
    "hebrew": ("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", 0),
    "devanagari": ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", 0),
    "bengali": ("NotoSansBengali-Regular.ttf", "NotoSansBengali-Bold.ttf", 0),
    "tamil": ("NotoSansTamil-Regular.ttf", "NotoSansTamil-Bold.ttf", 0),
    "thai": ("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf", 0),
    "georgian": ("NotoSansGeorgian-Regular.ttf", "NotoSansGeorgian-Bold.ttf", 0),
    "armenian": ("NotoSansArmenian-Regular.ttf", "NotoSansArmenian-Bold.ttf", 0),
    # Han, kana and Hangul: the Simplified Chinese face of the CJK collection (it holds all three)
    "cjk": ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", 2),
}
# the start of a character's Unicode name -> the family that writes it
SCRIPTS = (
    ("CJK", "cjk"),
    ("HIRAGANA", "cjk"),
    ("KATAKANA", "cjk"),
    ("HANGUL", "cjk"),
    ("IDEOGRAPHIC", "cjk"),
    ("FULLWIDTH", "cjk"),
    ("ARABIC", "arabic"),
    ("HEBREW", "hebrew"),
    ("DEVANAGARI", "devanagari"),
    ("BENGALI", "bengali"),
    ("TAMIL", "tamil"),
    ("THAI", "thai"),
    ("GEORGIAN", "georgian"),
    ("ARMENIAN", "armenian"),
)

# A4 in mm: two columns of four badges
PAGE_MARGIN = 10.0
BADGE_W, BADGE_H, GAP = 92.0, 66.0, 6.0
COLUMNS, ROWS = 2, 4
QR_MM = 32.0
NAME_PT, NAME_MIN_PT = 20.0, 9.0


class BadgeFontsMissing(Exception):
    """The Noto fonts a name needs are not installed."""


def script_family(char: str) -> str | None:
    """The font family that writes this character; None for what every family has (spaces, digits,
    punctuation) or what the Latin one writes."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return next((family for prefix, family in SCRIPTS if name.startswith(prefix)), "sans")


def name_family(text: str) -> str:
    """The family of the first letter: a name's own script sets its font; others are fallbacks."""
    return next((family for family in map(script_family, text) if family), "sans")


def _font_file(name: str) -> Path:
    for directory in NOTO_DIRS:
        if (directory / name).is_file():
            return directory / name
    raise BadgeFontsMissing(
        f"the PDF badges need the Noto font {name} (Debian: apt-get install fonts-noto-core "
        "fonts-noto-cjk); the HTML sheet (--badges) prints with the browser's fonts"
    )


@dataclass(frozen=True)
class Badge:
    name: str
    organization: str
    url: str
    code: str


def badges_of(links: Sequence[dict[str, Any]]) -> list[Badge]:
    return [
        Badge(str(link["name"]), str(link.get("organization") or ""), str(link["url"]), str(link["code"]))
        for link in links
    ]


BADGE_PAGE = """<!doctype html>
<html lang="und"><head><meta charset="utf-8"><title>Badges</title>
<style>
  @page {{ size: A4; margin: 10mm; }}
  body {{ font-family: system-ui, "Noto Sans", "Noto Sans CJK SC", "Noto Sans Arabic", sans-serif; margin: 0; }}
  .sheet {{ display: grid; grid-template-columns: repeat(2, 1fr); gap: 6mm; }}
  .badge {{ border: 1px solid #999; border-radius: 3mm; padding: 5mm; break-inside: avoid; text-align: center; }}
  .name {{ font-size: 20pt; font-weight: 700; margin: 0 0 2mm; unicode-bidi: plaintext; }}
  .org {{ font-size: 11pt; margin: 0 0 3mm; unicode-bidi: plaintext; }}
  .code {{ font-family: ui-monospace, monospace; font-size: 12pt; letter-spacing: .08em; margin: 2mm 0 0; }}
  svg {{ width: 40mm; height: 40mm; }}
</style></head>
<body><main class="sheet">
{badges}
</main></body></html>
"""


def badge_sheet_html(links: Sequence[dict[str, Any]]) -> str:
    """A printable HTML page of badges, the QR codes inline as SVG."""
    parts = []
    for badge in badges_of(links):
        qr = segno.make(badge.url, error="m").svg_inline(scale=4, border=2)
        parts.append(
            f'<section class="badge"><p class="name" dir="auto">{html.escape(badge.name)}</p>'
            f'<p class="org" dir="auto">{html.escape(badge.organization)}</p>{qr}'
            f'<p class="code">{html.escape(badge.code)}</p></section>'
        )
    return BADGE_PAGE.format(badges="\n".join(parts))


def badge_sheet_pdf(links: Sequence[dict[str, Any]]) -> bytes:
    """The badges as an A4 PDF; BadgeFontsMissing when a font the names need is not installed."""
    from fpdf import FPDF

    badges = badges_of(links)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title("Badges")
    pdf.set_creator("babelroom delegates links --pdf")
    families = {"sans"} | {
        family for badge in badges for char in badge.name + badge.organization if (family := script_family(char))
    }
    for family in sorted(families):
        regular, bold, face = FONTS[family]
        pdf.add_font(family, "", str(_font_file(regular)), collection_font_number=face)
        pdf.add_font(family, "B", str(_font_file(bold)), collection_font_number=face)
    # a name in two scripts ("王芳 Wang", "محمد Mohammed"): its own script's font, the others for the rest
    pdf.set_fallback_fonts(sorted(families))
    pdf.set_text_shaping(True)  # HarfBuzz: Arabic letters join, right-to-left runs are ordered
    for index, badge in enumerate(badges):
        slot = index % (COLUMNS * ROWS)
        if slot == 0:
            pdf.add_page()
        x = PAGE_MARGIN + (slot % COLUMNS) * (BADGE_W + GAP)
        y = PAGE_MARGIN + (slot // COLUMNS) * (BADGE_H + GAP)
        _badge(pdf, badge, x, y)
    return bytes(pdf.output())


def _badge(pdf: Any, badge: Badge, x: float, y: float) -> None:
    pdf.set_draw_color(150)
    pdf.set_line_width(0.3)
    pdf.rect(x, y, BADGE_W, BADGE_H, round_corners=True, corner_radius=3)
    inner = BADGE_W - 8
    family = name_family(badge.name)
    size = NAME_PT
    pdf.set_font(family, "B", size)
    while size > NAME_MIN_PT and pdf.get_string_width(badge.name) > inner:  # a long name: smaller, on one line
        size -= 1
        pdf.set_font(family, "B", size)
    pdf.set_text_color(0)
    pdf.set_xy(x + 4, y + 3)
    pdf.cell(w=inner, h=size * 0.45, text=badge.name, align="C")
    if badge.organization:
        pdf.set_font(name_family(badge.organization), "", 10)
        pdf.set_xy(x + 4, y + 4 + size * 0.45)
        pdf.cell(w=inner, h=5, text=badge.organization, align="C")
    _qr(pdf, badge.url, x + (BADGE_W - QR_MM) / 2, y + BADGE_H - QR_MM - 10)
    pdf.set_font("sans", "", 11)
    pdf.set_xy(x + 4, y + BADGE_H - 7.5)
    pdf.cell(w=inner, h=5, text=badge.code, align="C")


def _qr(pdf: Any, url: str, x: float, y: float) -> None:
    """The QR code of `url`, QR_MM wide, its dark modules drawn as filled runs (one rectangle per
    run of a row: no seams inside a run when the page is rasterised)."""
    matrix = segno.make(url, error="m").matrix
    module = QR_MM / len(matrix)
    pdf.set_fill_color(0)
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):
            if not cells[column]:
                column += 1
                continue
            start = column
            while column < len(cells) and cells[column]:
                column += 1
            pdf.rect(x + start * module, y + row * module, (column - start) * module, module, style="F")
