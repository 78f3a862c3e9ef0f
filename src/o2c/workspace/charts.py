"""Charts drawn on the server as inline SVG, from the data: the geometry of stacked bars and of lines,
with their axes, ticks and legend, for a template to write out (templates/workspace/dashboard/).

Pure: values in, shapes out, no queries, no JavaScript and nothing fetched. Coordinates are whole
pixels computed with integers and Decimals (never floats) and handed over as strings, so a template
cannot localise them ("12,5" would break the SVG). Labels (ticks, dates, titles) are formatted by the
caller, in the reader's locale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

WIDTH = 760
HEIGHT = 300
LEFT = 84  # room for the amounts of the y axis
RIGHT = 16
TOP = 16
BOTTOM = 76  # the dates of the x axis, the axis title and the legend
LEGEND_ROW = 18

Number = int | Decimal


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    color: str
    values: Sequence[Number | None]  # one per category; None: no value (a gap)


@dataclass(frozen=True, slots=True)
class Rect:
    x: str
    y: str
    width: str
    height: str
    color: str
    series: str
    title: str


@dataclass(frozen=True, slots=True)
class Point:
    x: str
    y: str
    color: str
    series: str
    title: str


@dataclass(frozen=True, slots=True)
class Line:
    path: str
    color: str
    series: str


@dataclass(frozen=True, slots=True)
class Tick:
    position: str
    label: str


@dataclass(frozen=True, slots=True)
class LegendItem:
    x: str
    y: str
    text_x: str
    text_y: str
    color: str
    label: str


@dataclass
class Chart:
    """What a template needs to write one chart: its frame, axes and marks."""

    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    zero_y: str = ""
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    x_title_y: str = ""
    bars: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)

    @property
    def plot_width(self) -> int:
        return self.plot_right - self.plot_left

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def x_title_x(self) -> str:
        return str(self.plot_left + self.plot_width // 2)

    @property
    def y_label_x(self) -> str:
        """Where the amounts of the y axis end (right-aligned)."""
        return str(self.plot_left - 8)

    @property
    def x_label_y(self) -> str:
        return str(self.plot_bottom + 18)

    @property
    def y_title_x(self) -> str:
        """The y axis title is turned a quarter left: its x is minus the middle of the plot's height."""
        return str(-(self.plot_top + self.plot_height // 2))


def nice_step(span: Number, ticks: int = 5) -> Decimal:
    """A round step (1, 2 or 5 times a power of ten) that splits `span` into about `ticks` parts."""
    raw = Decimal(span) / ticks
    if raw <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** raw.adjusted()
    for factor in (1, 2, 5, 10):
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10  # pragma: no cover - the loop always returns


def nice_range(low: Number, high: Number, ticks: int = 5) -> tuple[Decimal, Decimal, Decimal]:
    """(bottom, top, step) of an axis that shows `low` and `high` and zero, on round steps."""
    low, high = min(Decimal(low), Decimal(0)), max(Decimal(high), Decimal(0))
    if low == high:
        high = low + 1
    step = nice_step(high - low, ticks)
    bottom = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    top = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    return bottom, top, step


def _px(value: Decimal) -> str:
    return str(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class _Scale:
    def __init__(self, chart: Chart, bottom: Decimal, top: Decimal) -> None:
        self.chart, self.bottom, self.top = chart, bottom, top

    def y(self, value: Number) -> Decimal:
        share = (Decimal(value) - self.bottom) / (self.top - self.bottom)
        return Decimal(self.chart.plot_bottom) - share * self.chart.plot_height


def _y_axis(chart: Chart, low: Number, high: Number, tick_label: Callable[[Decimal], str]) -> _Scale:
    bottom, top, step = nice_range(low, high)
    scale = _Scale(chart, bottom, top)
    value = bottom
    while value <= top:
        chart.y_ticks.append(Tick(_px(scale.y(value)), tick_label(value)))
        value += step
    chart.zero_y = _px(scale.y(0))
    return scale


def _x_ticks(chart: Chart, centers: list[Decimal], labels: Sequence[str], max_labels: int) -> None:
    every = max(1, -(-len(labels) // max_labels))  # ceiling division
    last = len(labels) - 1
    for index, (center, text) in enumerate(zip(centers, labels, strict=True)):
        # every n-th label counted back from the newest, which is always labelled
        if (last - index) % every == 0:
            chart.x_ticks.append(Tick(_px(center), text))


def _legend(chart: Chart, series: Sequence[Series]) -> None:
    """One row of swatches under the x axis title, wrapping when it is full."""
    x, row = chart.plot_left, 0
    base = chart.plot_bottom + 48
    for item in series:
        width = 26 + 7 * len(item.label)
        if x + width > chart.plot_right and x > chart.plot_left:
            x, row = chart.plot_left, row + 1
        y = base + row * LEGEND_ROW
        chart.legend.append(LegendItem(str(x), str(y), str(x + 16), str(y + 10), item.color, item.label))
        x += width
    rows = row + 1
    chart.height += (rows - 1) * LEGEND_ROW
    chart.x_title_y = str(chart.plot_bottom + 38)


def stacked_bars(
    *,
    categories: Sequence[str],
    series: Sequence[Series],
    tick_label: Callable[[Decimal], str],
    bar_title: Callable[[int, Series, Number], str],
    max_labels: int = 9,
) -> Chart:
    """Bars per category, the series stacked: positive values upwards from zero, negative ones (open
    credit memos) downwards. `bar_title(category index, series, value)` is each bar's tooltip."""
    chart = Chart()
    count = max(len(categories), 1)
    ups = [sum(max(Decimal(s.values[i] or 0), Decimal(0)) for s in series) for i in range(len(categories))]
    downs = [sum(min(Decimal(s.values[i] or 0), Decimal(0)) for s in series) for i in range(len(categories))]
    scale = _y_axis(chart, min(downs, default=0), max(ups, default=0), tick_label)
    slot = Decimal(chart.plot_width) / count
    bar_width = max(slot * Decimal("0.7"), Decimal(1))
    centers = [chart.plot_left + slot * index + slot / 2 for index in range(len(categories))]
    for index, center in enumerate(centers):
        up, down = Decimal(0), Decimal(0)
        for item in series:
            value = Decimal(item.values[index] or 0)
            if value == 0:
                continue
            start = up if value > 0 else down
            end = start + value
            if value > 0:
                up = end
            else:
                down = end
            y_top, y_bottom = scale.y(max(start, end)), scale.y(min(start, end))
            chart.bars.append(
                Rect(
                    x=_px(center - bar_width / 2),
                    y=_px(y_top),
                    width=_px(bar_width),
                    height=str(max(int(_px(y_bottom - y_top)), 1)),
                    color=item.color,
                    series=item.key,
                    title=bar_title(index, item, item.values[index] or 0),
                )
            )
    _x_ticks(chart, centers, categories, max_labels)
    _legend(chart, series)
    return chart


def lines(
    *,
    categories: Sequence[str],
    series: Sequence[Series],
    tick_label: Callable[[Decimal], str],
    point_title: Callable[[int, Series, Number], str],
    max_labels: int = 12,
    width: int = WIDTH,
) -> Chart:
    """A line per series through its points; a missing value (None) breaks the line."""
    chart = Chart(width=width, plot_right=width - RIGHT)
    values = [Decimal(v) for item in series for v in item.values if v is not None]
    scale = _y_axis(chart, min(values, default=0), max(values, default=0), tick_label)
    count = max(len(categories), 1)
    slot = Decimal(chart.plot_width) / count
    centers = [chart.plot_left + slot * index + slot / 2 for index in range(len(categories))]
    for item in series:
        path: list[str] = []
        drawing = False
        for index, value in enumerate(item.values):
            if value is None:
                drawing = False
                continue
            x, y = _px(centers[index]), _px(scale.y(value))
            path.append(f"{'L' if drawing else 'M'}{x} {y}")
            drawing = True
            chart.points.append(Point(x, y, item.color, item.key, point_title(index, item, value)))
        if path:
            chart.lines.append(Line(" ".join(path), item.color, item.key))
    _x_ticks(chart, centers, categories, max_labels)
    _legend(chart, series)
    return chart
