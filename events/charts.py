"""Bar charts as plain geometry for a server-rendered SVG: no JavaScript, no CDN.

Pure code: series of numbers in, rectangles, a line, ticks and labels out, with every
coordinate already formatted as text for the template.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

PALETTE = (
    "#417690",  # Django admin blue
    "#79aec8",
    "#e0a030",
    "#6a9f4f",
    "#9b6bb0",
    "#c7795b",
    "#8c8c8c",
)
ALERT = "#ba2121"

Number = int | float | Decimal


@dataclass
class Series:
    name: str
    values: Sequence[Number]
    color: str = PALETTE[0]


@dataclass
class Rect:
    x: str
    y: str
    width: str
    height: str
    color: str
    title: str


@dataclass
class Point:
    x: str
    y: str
    title: str


@dataclass
class Label:
    x: str
    y: str
    text: str


@dataclass
class Chart:
    title: str
    width: int
    height: int
    bars: list[Rect] = field(default_factory=list)
    line: list[Point] = field(default_factory=list)
    line_color: str = ALERT
    line_points: str = ""
    y_ticks: list[Label] = field(default_factory=list)
    x_labels: list[Label] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    plot_left: str = "0"
    plot_right: str = "0"
    zero_y: str = "0"
    has_data: bool = False


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def nice_step(span: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) covering ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def compact(value: float) -> str:
    """1234 -> 1.2k, 2500000 -> 2.5M; small numbers as they are."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{sign}{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{sign}{text}"


def bar_chart(
    title: str,
    days: Sequence[date],
    series: Sequence[Series],
    *,
    line: Series | None = None,
    width: int = 640,
    height: int = 200,
    value_text: Callable[[Number], str] = lambda value: f"{value:,}",
    day_label: Callable[[date], str] = lambda day: f"{day:%d %b}",
    day_title: Callable[[date], str] = lambda day: f"{day:%a %d %b}",
    label_every: int = 7,
) -> Chart:
    """Stacked bars per day (positive values up from zero, negative ones down) and an
    optional line on the same scale, e.g. failures over deliveries. The x axis labels
    every ``label_every``-th day, counted back from the last, with ``day_label``; a bar's
    tooltip names its day with ``day_title`` (months, for a chart of months)."""
    left, right, top, bottom = 44, 8, 8, 22
    plot_width, plot_height = width - left - right, height - top - bottom
    up = [sum(max(float(s.values[i]), 0) for s in series) for i in range(len(days))]
    down = [sum(min(float(s.values[i]), 0) for s in series) for i in range(len(days))]
    line_values = [float(v) for v in line.values] if line else []
    scale = _Scale.of([*up, *line_values], [*down, *line_values], top, plot_height)
    chart = Chart(title=title, width=width, height=height)
    chart.plot_left, chart.plot_right = _fmt(left), _fmt(width - right)
    chart.zero_y = _fmt(scale.y(0))
    tick = scale.low
    while tick <= scale.high + scale.step / 2:
        chart.y_ticks.append(Label(x=_fmt(left - 4), y=_fmt(scale.y(tick)), text=compact(tick)))
        tick += scale.step
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.75, 1.0)
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_width) / 2
        chart.bars += _day_bars(series, index, x, bar_width, scale, day_title(day), value_text)
        if index % label_every == (len(days) - 1) % label_every:
            chart.x_labels.append(
                Label(x=_fmt(x + bar_width / 2), y=_fmt(height - 6), text=day_label(day))
            )
    if line is not None:
        chart.line_color = line.color
        for index, day in enumerate(days):
            chart.line.append(
                Point(
                    x=_fmt(left + index * slot + slot / 2),
                    y=_fmt(scale.y(line_values[index])),
                    title=f"{day_title(day)}: {line.name} {value_text(line.values[index])}",
                )
            )
        chart.line_points = " ".join(f"{point.x},{point.y}" for point in chart.line)
    chart.has_data = bool(chart.bars) or any(line_values)
    chart.legend = [(serie.name, serie.color) for serie in series]
    if line is not None:
        chart.legend.append((line.name, line.color))
    return chart


@dataclass
class _Scale:
    """The y axis: from ``low`` to ``high`` (zero included) in ticks of ``step``, drawn
    ``scale`` pixels per unit below ``top``."""

    low: float
    high: float
    step: float
    top: float
    scale: float

    @classmethod
    def of(cls, highs: list[float], lows: list[float], top: float, height: float) -> _Scale:
        high, low = max([*highs, 0.0]), min([*lows, 0.0])
        step = nice_step(high - low or 1)
        high = math.ceil(high / step) * step if high > 0 else 0.0
        low = math.floor(low / step) * step if low < 0 else 0.0
        if high == low:
            high = step
        return cls(low, high, step, top, height / (high - low))

    def y(self, value: float) -> float:
        return self.top + (self.high - value) * self.scale


def _day_bars(series, index: int, x: float, width: float, scale: _Scale, day: str, value_text):
    """One day's stacked bars: positive values up from zero, negative ones down."""
    bars, above, below = [], 0.0, 0.0
    for serie in series:
        value = float(serie.values[index])
        if value == 0:
            continue
        start = above if value > 0 else below
        end = start + value
        if value > 0:
            above = end
        else:
            below = end
        y1, y2 = sorted((scale.y(start), scale.y(end)))
        bars.append(
            Rect(
                x=_fmt(x),
                y=_fmt(y1),
                width=_fmt(width),
                height=_fmt(max(y2 - y1, 0.5)),
                color=serie.color,
                title=f"{day}: {serie.name} {value_text(serie.values[index])}",
            )
        )
    return bars
