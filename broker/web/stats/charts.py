"""Server-rendered SVG charts: readable without JavaScript, announced to screen readers.

Each chart is an ``<svg role="img">`` labelled by its ``<title>`` and
``<desc>`` (the desc states the figures in words); the page shows the same
numbers in a table next to it. Series differ by colour *and* line style, so
they stay apart in grey print and for colour-blind readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 280
#: a bar's label fits in its 200 px at 14 px (about 7.5 px a character); longer names are shortened
LABEL_CHARS = 25
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 36, 44
INK = "#1f2328"
GRID = "#d0d7de"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    color: str = "#1d4f91"
    dash: str = ""
    marker: str = "circle"  # circle | square


def nice_max(value: float) -> int:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (the top of the axis); 0 when all is 0."""
    if value <= 0:
        return 0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return int(math.ceil(step * power))
    return int(10 * power)  # pragma: no cover


def ticks(top: int) -> list[int]:
    """The axis' graduations, whole numbers from 0 to ``top``: [0] alone for an all-zero chart, never 0, 0, 1."""
    if top <= 0:
        return [0]
    if top <= 5:
        step = 1
    else:
        step = next((top // parts for parts in (4, 5, 2) if top % parts == 0), top)
    return list(range(0, top + 1, step))


def _number(n: float) -> str:
    return f"{int(n):,}".replace(",", "\u202f")  # French thin space between thousands


def shorten(label: str, limit: int) -> str:
    """``label`` cut at a word when it is longer than ``limit`` characters, with an ellipsis."""
    if len(label) <= limit:
        return label
    cut = label[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:–-") + "…"


def _frame(chart_id: str, title: str, desc: str, body: list[str], width: int = WIDTH, height: int = HEIGHT) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
            f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
            f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" font-family="sans-serif" font-size="14">'
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
               desc: str | None = None) -> Markup:
    """Lines over months (``labels``), one per series, with a y axis from 0."""
    count = len(labels)
    top = nice_max(max((v for s in series for v in s.values), default=0))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(i: int) -> float:
        return MARGIN_LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return MARGIN_TOP + plot_h - (plot_h * v / top if top else 0)

    body = ['<g aria-hidden="true">']
    for value in ticks(top):
        body.append(f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(f'<text x="{MARGIN_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="{INK}">'
                    f'{escape(_number(value))}</text>')
    step = max(1, math.ceil(count / 6))  # at most 6 month labels: they stay readable on a phone
    for i, label in enumerate(labels):
        if (count - 1 - i) % step == 0:  # anchored on the latest month
            # the last label ends at its point and the first starts at it: neither is cut by the frame
            anchor = "end" if i == count - 1 and count > 1 else ("start" if i == 0 and count > 1 else "middle")
            shift = {"end": 6, "start": -6, "middle": 0}[anchor]
            body.append(f'<text x="{x(i) + shift:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 18}" text-anchor="{anchor}" '
                        f'fill="{INK}">{escape(label)}</text>')
    for s in series:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        if count > 1:
            body.append(f'<polyline fill="none" stroke="{s.color}" stroke-width="2.5"{dash} points="{points}"/>')
        for i, v in enumerate(s.values):
            if s.marker == "square":
                body.append(f'<rect x="{x(i) - 3.5:.1f}" y="{y(v) - 3.5:.1f}" width="7" height="7" fill="{s.color}"/>')
            else:
                body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{s.color}"/>')
    legend_x = MARGIN_LEFT
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        body.append(f'<line x1="{legend_x}" x2="{legend_x + 24}" y1="16" y2="16" stroke="{s.color}" '
                    f'stroke-width="2.5"{dash}/>')
        body.append(f'<text x="{legend_x + 30}" y="20" fill="{INK}">{escape(s.name)}</text>')
        legend_x += 40 + 7 * len(s.name)
    body.append("</g>")
    if desc is None:
        desc = "; ".join(f"{s.name} : " + ", ".join(f"{label} {_number(v)}" for label, v in zip(labels, s.values))
                         for s in series)
    return _frame(chart_id, title, desc, body)


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]], *, color: str = "#1d4f91",
              desc: str | None = None) -> Markup:
    """Horizontal bars, one per item (label, value), largest scale from 0."""
    row = 26
    label_w = 210
    height = MARGIN_TOP + row * max(1, len(items)) + 16
    top = nice_max(max((v for _, v in items), default=0))
    plot_w = WIDTH - label_w - MARGIN_RIGHT - 60
    body = ['<g aria-hidden="true">']
    for i, (label, value) in enumerate(items):
        y = MARGIN_TOP + i * row
        short = shorten(label, LABEL_CHARS)
        w = plot_w * value / top if top else 0
        # the whole name stays in the chart's description, the table beside it, and this label's tooltip
        body.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{INK}">'
                    f'{f"<title>{escape(label)}</title>" if short != label else ""}{escape(short)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="{INK}">{escape(_number(value))}</text>')
    if not items:
        body.append(f'<text x="{WIDTH / 2}" y="{MARGIN_TOP + 16}" text-anchor="middle" fill="{INK}">—</text>')
    body.append("</g>")
    if desc is None:
        desc = ", ".join(f"{label} {_number(v)}" for label, v in items) or "—"
    return _frame(chart_id, title, desc, body, height=height)
