"""The impact chart of a replay, made on the server as SVG, with a text alternative.

One row per municipality size class: a stacked bar of the outcomes that flipped, one colour
per direction (afwijzen → toekennen, ...), and the change in euros beside it. No script, no
external font or style: the SVG stands alone in a page, a workbook or a file.

Accessible by construction: the root has `role="img"` and is labelled by its `<title>` and
`<desc>`; the description holds the same numbers as sentences, and `impact_table` gives them
as a table (header row, then one row per class) for the page to show beside the chart. The
colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and every segment also carries its number in a `<title>` of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from vangnet.money import format_eur

if TYPE_CHECKING:
    from vangnet.replay import ClassImpact, ReplayReport

__all__ = ["impact_description", "impact_svg", "impact_table", "text_width"]

_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# the layout: each size class is a label on a line of its own with the bar under it and the
# numbers to the right of the bar, so a long label never runs into the bar. The chart is as wide
# as its longest text needs, estimated at `_EM` of the font size per character (generous for
# sans-serif digits and lower case: "527 van 963; +€ 6.247.498,61" renders at about 200 px);
# `tests/test_impact_chart.py` checks every text's estimated extent against the width.
_EM = 0.62
_MIN_WIDTH = 760
_LEFT = 10
_BAR_W = 420
_NUMBERS_X = _LEFT + _BAR_W + 12
_ROW_H = 50
_TOP = 76
_LEGEND_COLUMNS = 2
_LEGEND_W = 360


def text_width(text: str, size: int = 13) -> float:
    """The estimated width in px of `text` at `size` px sans-serif (see `_EM`)."""
    return len(text) * size * _EM


def _fill(index: int) -> str:
    if index < len(_PALETTE):
        return _PALETTE[index]
    return f"url(#streep{index})"


def _patterns(count: int) -> list[str]:
    """The striped fills of the directions beyond the palette (`_fill`)."""
    if count <= len(_PALETTE):
        return []
    out = ["<defs>"]
    for index in range(len(_PALETTE), count):
        base = _PALETTE[index % len(_PALETTE)]
        out.append(
            f'<pattern id="streep{index}" width="6" height="6" patternUnits="userSpaceOnUse"'
            ' patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="{base}"/>'
            '<rect width="2" height="6" fill="#ffffff"/></pattern>'
        )
    out.append("</defs>")
    return out


def _outcome(o: str) -> str:
    from vangnet.replay import outcome_text

    return outcome_text(o)


def _signed(cents: int) -> str:
    amount = format_eur(Decimal(abs(cents)).scaleb(-2))
    return ("+" if cents > 0 else "-" if cents < 0 else "") + amount


def _directions(classes: list[ClassImpact]) -> list[tuple[str, str]]:
    return sorted({d for c in classes for d in c.flips})


def impact_table(report: ReplayReport) -> list[list[str]]:
    """The chart as a table: a header row, then one row per size class with claims, flips
    per direction, and the change in euros (all as text)."""
    classes = [c for c in report.by_class if c.claims]
    directions = _directions(classes)
    header = [
        "Gemeentegrootte",
        "Aanvragen",
        *(f"{_outcome(a)} → {_outcome(b)}" for a, b in directions),
        "Omgeslagen",
        "Verschil",
    ]
    rows = [header]
    for c in classes:
        rows.append(
            [
                c.label,
                str(c.claims),
                *(str(c.flips.get(d, 0)) for d in directions),
                str(c.flipped),
                _signed(c.delta_cents),
            ]
        )
    return rows


def impact_description(report: ReplayReport) -> str:
    """The chart in sentences (Dutch), for `<desc>` and for readers without the picture."""
    t = report.target
    total = report.total
    parts = [
        f"Herberekening van {total.claims} aanvragen onder {t.key}"
        + (" (een simulatie, geen besluiten)" if report.simulation else "")
        + f": bij {total.flipped} slaat de uitkomst om; het bedrag verandert met"
        f" {_signed(total.delta_cents)}."
    ]
    for c in report.by_class:
        if not c.claims:
            continue
        flips = "; ".join(
            f"{_outcome(a)} naar {_outcome(b)}: {n}" for (a, b), n in sorted(c.flips.items())
        )
        parts.append(
            f"{c.label[:1].upper()}{c.label[1:]}: {c.claims} aanvragen, {c.flipped} omgeslagen"
            + (f" ({flips})" if flips else "")
            + f", verschil {_signed(c.delta_cents)}."
        )
    return " ".join(parts)


def impact_svg(report: ReplayReport) -> str:
    """The chart as a standalone SVG document (text)."""
    classes = [c for c in report.by_class if c.claims]
    directions = _directions(classes)
    # beyond the palette's eight colours (12 directions are possible), the colours come again
    # with white diagonal stripes, so no two directions look the same
    colour = {d: _fill(i) for i, d in enumerate(directions)}
    most = max((c.flipped for c in classes), default=0)
    legend_rows = -(-len(directions) // _LEGEND_COLUMNS)
    height = _TOP + _ROW_H * max(1, len(classes)) + 16 + 22 * max(1, legend_rows)
    title = f"Omgeslagen uitkomsten per gemeentegrootte onder {report.target.key}"
    numbers_head = "omgeslagen van herberekend; verschil in euro"
    numbers = [f"{c.flipped} van {c.claims}; {_signed(c.delta_cents)}" for c in classes]
    width = round(
        max(
            _MIN_WIDTH,
            _LEFT * 2 + text_width(title, 16),
            *(_NUMBERS_X + _LEFT + text_width(n) for n in (numbers_head, *numbers)),
        )
    )
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-labelledby="titel beschrijving"'
        ' font-family="sans-serif" font-size="13">',
        f'<title id="titel">{escape(title)}</title>',
        f'<desc id="beschrijving">{escape(impact_description(report))}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        *_patterns(len(directions)),
        f'<text x="{_LEFT}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
        f'<text x="{_LEFT}" y="{_TOP - 10}" fill="#333333">aantal omgeslagen uitkomsten</text>',
        f'<text x="{_NUMBERS_X}" y="{_TOP - 10}" fill="#333333">{numbers_head}</text>',
    ]
    if report.simulation:
        out.append(
            f'<text x="{_LEFT}" y="44" fill="#8a1c1c">Simulatie: geen geldende regels, geen'
            " besluiten.</text>"
        )
    for row, c in enumerate(classes):
        y = _TOP + row * _ROW_H
        bar_y = y + 20
        out.append(f'<text x="{_LEFT}" y="{y + 14}">{escape(c.label)}</text>')
        out.append(f'<rect x="{_LEFT}" y="{bar_y}" width="{_BAR_W}" height="22" fill="#f2f2f2"/>')
        x = float(_LEFT)
        for d in directions:
            n = c.flips.get(d, 0)
            if not n:
                continue
            w = _BAR_W * n / most if most else 0.0
            label = f"{c.label}: {_outcome(d[0])} naar {_outcome(d[1])}: {n}"
            out.append(
                f'<rect x="{x:.2f}" y="{bar_y}" width="{w:.2f}" height="22" fill="{colour[d]}">'
                f"<title>{escape(label)}</title></rect>"
            )
            x += w
        out.append(f'<text x="{_NUMBERS_X}" y="{bar_y + 16}">{escape(numbers[row])}</text>')
    y = _TOP + _ROW_H * max(1, len(classes)) + 16
    if not classes:
        out.append(f'<text x="{_LEFT}" y="{_TOP + 20}">Geen aanvragen herberekend.</text>')
    elif not directions:
        out.append(
            f'<text x="{_LEFT}" y="{y + 4}">Bij geen enkele aanvraag slaat de uitkomst om.</text>'
        )
    for i, d in enumerate(directions):
        lx = _LEFT + (i % _LEGEND_COLUMNS) * _LEGEND_W
        ly = y + (i // _LEGEND_COLUMNS) * 22
        text = f"{_outcome(d[0])} → {_outcome(d[1])}"
        out.append(f'<rect x="{lx}" y="{ly - 11}" width="14" height="14" fill="{colour[d]}"/>')
        out.append(
            f"<text x={quoteattr(str(lx + 20))} y={quoteattr(str(ly))}>{escape(text)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
