"""Small inline SVG charts for self-contained reports: no script, no CDN, no font download."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#2da44e", "#bf8700", "#8250df", "#0a7ea4")
REFERENCE_COLOR = "#8c959f"
CURRENT_COLOR = "#1f6feb"


def _fmt(value: float) -> str:
    if value == 0 or math.isnan(value):
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000 or magnitude < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}"


def bars(
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    *,
    width: int = 420,
    height: int = 180,
    title: str = "",
    names: tuple[str, str] = ("reference", "current"),
) -> str:
    """Grouped bars of two distributions (shares), reference grey and current blue."""
    n = max(len(labels), 1)
    top = max([*reference, *current, 1e-12])
    plot_h, base = height - 66, height - 48
    slot = (width - 20) / n
    bar = max(slot / 2 - 1, 1)
    parts = [_open(width, height, title)]
    for i, label in enumerate(labels):
        x = 10 + i * slot
        for j, (value, color) in enumerate(
            ((reference[i], REFERENCE_COLOR), (current[i], CURRENT_COLOR))
        ):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" '
                f'fill="{color}"><title>{escape(label)}: {value:.1%}</title></rect>'
            )
        if n <= 14:  # slanted, so neighbouring bin labels do not overlap
            cx, cy = x + bar, base + 10
            parts.append(
                f'<text x="{cx:.1f}" y="{cy}" font-size="9" text-anchor="end" '
                f'transform="rotate(-35 {cx:.1f} {cy})">{escape(label[:16])}</text>'
            )
    parts.append(f'<line x1="8" y1="{base}" x2="{width - 8}" y2="{base}" stroke="#d0d7de"/>')
    parts.append(_legend([(names[0], REFERENCE_COLOR), (names[1], CURRENT_COLOR)], width))
    parts.append("</svg>")
    return "".join(parts)


def lines(
    series: Mapping[str, Sequence[tuple[float, float | None]]],
    *,
    width: int = 640,
    height: int = 180,
    title: str = "",
    threshold: float | None = None,
    x_labels: tuple[str, str] | None = None,
) -> str:
    """Line chart of named ``(x, y)`` series; ``None`` values break the line."""
    points = [(x, y) for values in series.values() for x, y in values if y is not None]
    if not points:
        return _open(width, 40, title) + '<text x="10" y="25" font-size="12">no data</text></svg>'
    xs = [x for x, _ in points]
    ys = [y for _, y in points] + ([threshold] if threshold is not None else [])
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, *ys), max(ys)
    if y1 == y0:
        y1 = y0 + 1
    left, right, top, bottom = 46, width - 10, 22, height - 24

    def sx(x: float) -> float:
        return left + (right - left) * ((x - x0) / (x1 - x0) if x1 > x0 else 0.5)

    def sy(y: float) -> float:
        return bottom - (bottom - top) * (y - y0) / (y1 - y0)

    parts = [_open(width, height, title)]
    for value in (y0, (y0 + y1) / 2, y1):
        parts.append(
            f'<line x1="{left}" y1="{sy(value):.1f}" x2="{right}" y2="{sy(value):.1f}" '
            f'stroke="#eaeef2"/><text x="{left - 4}" y="{sy(value) + 3:.1f}" font-size="9" '
            f'text-anchor="end">{_fmt(value)}</text>'
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{left}" y1="{sy(threshold):.1f}" x2="{right}" y2="{sy(threshold):.1f}" '
            f'stroke="#d1242f" stroke-dasharray="4 3">'
            f"<title>threshold {_fmt(threshold)}</title></line>"
        )
    legend = []
    for i, (name, values) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        legend.append((name, color))
        for run in _runs(values):
            coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in run)
            if len(run) == 1:
                x, y = run[0]
                parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>')
            else:
                parts.append(
                    f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.6"/>'
                )
    if x_labels is not None:
        parts.append(
            f'<text x="{left}" y="{height - 8}" font-size="9">{escape(x_labels[0])}</text>'
            f'<text x="{right}" y="{height - 8}" font-size="9" text-anchor="end">'
            f"{escape(x_labels[1])}</text>"
        )
    parts.append(_legend(legend[:6], width))
    parts.append("</svg>")
    return "".join(parts)


def _runs(values: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in values:
        if y is None or math.isnan(y):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def _open(width: int, height: int, title: str) -> str:
    label = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{width}px" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'font-family="system-ui, sans-serif"><title>{label}</title>'
    )


def _legend(entries: Sequence[tuple[str, str]], width: int) -> str:
    parts = []
    x = width - 8
    for name, color in reversed(entries):
        text = escape(name[:24])
        x -= 14 + 6 * len(text)
        parts.append(
            f'<rect x="{x}" y="4" width="9" height="9" fill="{color}"/>'
            f'<text x="{x + 12}" y="12" font-size="10">{text}</text>'
        )
    return "".join(parts)
