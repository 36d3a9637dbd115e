"""Charts as SVG drawn by the server: no script library, nothing from a CDN, and the page
reads the same with scripts off. Pure functions of their numbers; text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** (len(str(int(value))) - 1)
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * magnitude:
            return float(step * magnitude)
    return 10.0 * magnitude


def _fmt(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    width: int = 720,
    height: int = 240,
) -> str:
    """Lines over shared x labels (days), with a y axis from 0, a legend and a title."""
    left, right, top, bottom = 48, 12, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _n, vs in series for v in vs), default=0))
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * (i / n if len(labels) > 1 else 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for k in range(5):
        v = top_value * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y(v) + 4:.1f}" class="axis" '
            f'text-anchor="end">{_fmt(v)}</text>'
        )
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" class="axis" '
                f'text-anchor="middle">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        for i, v in enumerate(values):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)} {escape(labels[i])}: {_fmt(v)}</title></circle>"
            )
        parts.append(
            f'<rect x="{left + 130 * s}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 14 + 130 * s}" y="17" class="legend">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 720,
    bar_height: int = 22,
    value_format: str = "{:.0f}",
) -> str:
    """Horizontal bars, one per labelled value (stores, categories), longest scale first."""
    left, right = 180, 70
    height = 16 + bar_height * max(1, len(items))
    top_value = max((v for _l, v in items), default=0) or 1.0
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(items):
        y = 8 + i * bar_height
        w = max(0.0, (width - left - right) * value / top_value)
        shown = value_format.format(value)
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_height * 0.65:.1f}" class="axis" '
            f'text-anchor="end">{escape(label[:28])}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{bar_height - 6}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(shown)}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + bar_height * 0.65:.1f}" '
            f'class="value">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 28) -> str:
    """A product's trend in a table cell."""
    if not values:
        return ""
    top = max(values) or 1.0
    n = max(1, len(values) - 1)
    points = " ".join(
        f"{2 + (width - 4) * i / n:.1f},{height - 3 - (height - 6) * v / top:.1f}"
        for i, v in enumerate(values)
    )
    label = ", ".join(_fmt(v) for v in values)
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><polyline fill="none" stroke="{PALETTE[0]}" '
        f'stroke-width="1.5" points="{points}"/></svg>'
    )


def store_map(
    points: Sequence[tuple[str, float, float, float]],
    *,
    title: str,
    width: int = 720,
    height: int = 420,
) -> str:
    """Stores at their latitude and longitude (equirectangular, fitted to the stores with a
    margin, aspect kept), each a circle whose area follows its value (revenue)."""
    if not points:
        return ""
    lats = [p[1] for p in points]
    lons = [p[2] for p in points]
    pad_lat = max(0.05, (max(lats) - min(lats)) * 0.15)
    pad_lon = max(0.05, (max(lons) - min(lons)) * 0.15)
    south, north = min(lats) - pad_lat, max(lats) + pad_lat
    west, east = min(lons) - pad_lon, max(lons) + pad_lon
    scale = min(width / (east - west), height / (north - south))
    off_x = (width - (east - west) * scale) / 2
    off_y = (height - (north - south) * scale) / 2
    top_value = max((p[3] for p in points), default=0) or 1.0
    parts = [
        f'<svg class="chart map" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect x="0" y="0" width="{width}" height="{height}" class="sea"/>'
    ]
    for label, lat, lon, value in points:
        cx = off_x + (lon - west) * scale
        cy = off_y + (north - lat) * scale
        r = 5 + 20 * (max(0.0, value) / top_value) ** 0.5
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" class="store-dot">'
            f"<title>{escape(label)}: {_fmt(value)}</title></circle>"
            f'<text x="{cx:.1f}" y="{cy - r - 4:.1f}" class="map-label" '
            f'text-anchor="middle">{escape(label[:24])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
