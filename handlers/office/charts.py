"""Charts of the figures, drawn with matplotlib's Agg backend (no display) and a CJK font from PyPI.

Drawing is blocking and takes tens of milliseconds: callers run it off the event loop (`asyncio.to_thread`).
Labels arrive already translated (`ChartData`), so nothing here depends on a language. The font is Noto Sans
CJK SC from the `noto-cjk-sans-otc` package (SIL Open Font License 1.1), loaded once per process.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

FONT = "Noto Sans CJK SC"
FAMILY = [FONT, "DejaVu Sans"]
BAR = "#2f6fb0"
GOOD, FAIR, POOR = "#2e8b57", "#d98c1f", "#c0392b"
_LOCK = threading.Lock()
_loaded = False


def _font() -> None:
    """Register the bundled CJK font with matplotlib once (parsing the collection takes ~0.5 s)."""
    global _loaded
    with _LOCK:
        if _loaded:
            return
        import noto_cjk_sans_otc

        matplotlib.use("Agg")  # render to files, never to a screen
        font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
        matplotlib.rcParams["font.family"] = FAMILY
        matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as outlines: no font needed to view
        _loaded = True


@dataclass(frozen=True)
class ChartData:
    """What the /stats chart shows, every label in the reader's language."""

    title: str
    days_title: str
    days: list[tuple[str, int]] = field(default_factory=list)
    categories_title: str = ""
    categories: list[tuple[str, int]] = field(default_factory=list)
    promises_title: str = ""
    promises: list[tuple[str, float | None]] = field(default_factory=list)
    empty: str = "—"


def _columns(ax: Axes, items: list[tuple[str, int]], title: str) -> None:
    labels = [label for label, _ in items]
    values = [value for _, value in items]
    ax.bar(range(len(values)), values, color=BAR)
    step = max(1, len(labels) // 10)  # at most ~10 date labels fit a phone's width
    ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=0 if len(labels) <= 7 else 45)
    ax.set_title(title, loc="left", fontsize=12)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def _rows(ax: Axes, items: list[tuple[str, int]], title: str, empty: str) -> None:
    items = items[:8] or [(empty, 0)]
    labels = [label for label, _ in items][::-1]
    values = [value for _, value in items][::-1]
    bars = ax.barh(labels, values, color=BAR, height=0.6)
    ax.set_ylim(-0.6, max(len(items), 4) - 0.4)  # a bar or two stay bars, not blocks
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_title(title, loc="left", fontsize=12)
    ax.xaxis.set_visible(False)
    for spine in ("top", "right", "bottom"):
        ax.spines[spine].set_visible(False)


def _percents(ax: Axes, items: list[tuple[str, float | None]], title: str, empty: str) -> None:
    labels = [label for label, _ in items][::-1]
    values = [value or 0.0 for _, value in items][::-1]
    colors = [GOOD if v >= 95 else FAIR if v >= 80 else POOR for v in values]
    bars = ax.barh(labels, values, color=colors)
    texts = [empty if value is None else f"{value:.0f}%" for _, value in items][::-1]
    ax.bar_label(bars, labels=texts, padding=3, fontsize=9)
    ax.set_xlim(0, 115)
    ax.set_title(title, loc="left", fontsize=12)
    ax.xaxis.set_visible(False)
    for spine in ("top", "right", "bottom"):
        ax.spines[spine].set_visible(False)


def stats_png(data: ChartData) -> bytes:
    """The /stats chart: tickets per day, by category, promises kept; tall, for a phone (blocking)."""
    _font()
    fig = Figure(figsize=(7.2, 9.0), dpi=110, layout="constrained")
    top, middle, bottom = fig.subplots(3, 1, height_ratios=[1.1, 1.2, 0.9])
    fig.suptitle(data.title, fontsize=14, x=0.02, ha="left")
    _columns(top, data.days, data.days_title)
    _rows(middle, data.categories, data.categories_title, data.empty)
    _percents(bottom, data.promises, data.promises_title, data.empty)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def columns_svg(items: list[tuple[str, int]], title: str) -> str:
    """One column chart (tickets per day) as inline SVG for the dashboard (blocking)."""
    _font()
    fig = Figure(figsize=(7.0, 2.6), layout="constrained")
    _columns(fig.subplots(), items, title)
    return _svg(fig)


def rows_svg(items: list[tuple[str, int]], title: str, empty: str = "—") -> str:
    """One bar chart (by category, building ...) as inline SVG for the dashboard (blocking)."""
    _font()
    fig = Figure(figsize=(5.0, 0.5 + 0.38 * max(1, min(8, len(items)))), layout="constrained")
    _rows(fig.subplots(), items, title, empty)
    return _svg(fig)


def percents_svg(items: list[tuple[str, float | None]], title: str, empty: str = "—") -> str:
    """Promises kept, in percent, as inline SVG for the dashboard (blocking)."""
    _font()
    fig = Figure(figsize=(5.0, 0.5 + 0.38 * max(1, len(items))), layout="constrained")
    _percents(fig.subplots(), items, title, empty)
    return _svg(fig)


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", transparent=True)
    text = out.getvalue()
    # Inline in a page: drop the XML prologue and let CSS size it.
    start = text.find("<svg")
    return text[start:].replace('width="', 'data-width="', 1).replace('height="', 'data-height="', 1)
