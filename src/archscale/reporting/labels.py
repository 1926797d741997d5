"""Point labels that do not overlap: a greedy placement over candidate offsets.

Labels are placed in priority order (frontier points first). For each label, candidate
positions around its point are tried, nearest first; the first one whose text box stays
inside the axes, touches neither an earlier label nor any plotted point, and is nearer its own
point than any other point is taken. Candidates beyond the nearest ring get a thin leader
line. A label with no free position is dropped if it has low
priority (its row is still in the tables), or put where it overlaps least if it must be shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

#: Candidate offsets in points: (dx, dy), nearest ring first.
_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
_RINGS = (6, 14, 24, 36, 50)


@dataclass(frozen=True)
class LabelPoint:
    """A point to label: data coordinates, the text and whether it must be shown."""

    x: float
    y: float
    text: str
    must: bool = False


def _overlap(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _inside(box: Any, frame: Any) -> bool:
    return box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 \
        and box.y1 <= frame.y1


def _distance(box: Any, x: float, y: float) -> float:
    dx = max(box.x0 - x, 0.0, x - box.x1)
    dy = max(box.y0 - y, 0.0, y - box.y1)
    return math.hypot(dx, dy)


def _align(dx: int, dy: int) -> tuple[str, str]:
    ha = "left" if dx > 0 else "right" if dx < 0 else "center"
    va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
    return ha, va


def place_labels(ax: Any, points: Sequence[LabelPoint], *, fontsize: float = 7.5,
                 marker_px: float = 9.0, obstacles: Sequence[tuple[float, float]] = (),
                 avoid: Sequence[Any] = ()) -> list[Any]:
    """Annotate ``points`` on ``ax`` without overlapping text.

    Call after the axes limits and scales are final (the placement uses display
    coordinates).

    Args:
        ax: A matplotlib ``Axes`` whose figure has an Agg canvas.
        points: The points and their texts; ``must`` points are placed first and never
            dropped.
        fontsize: Label font size.
        marker_px: Side in pixels of the square around each plotted point kept free.
        obstacles: Further data points (unlabelled) to keep free.
        avoid: Text artists already drawn (e.g. line labels) that labels must not cover.

    Returns:
        The created ``Annotation`` objects.
    """
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    half = marker_px / 2
    centres = [tuple(to_px((p.x, p.y))) for p in points] + [tuple(to_px(o)) for o in obstacles]
    dots = [Bbox.from_extents(px - half, py - half, px + half, py + half)
            for px, py in (to_px((p.x, p.y)) for p in points)]
    dots += [Bbox.from_extents(px - half, py - half, px + half, py + half)
             for px, py in (to_px(o) for o in obstacles)]
    placed: list[Any] = []
    boxes: list[Any] = [t.get_window_extent(renderer).padded(1.5) for t in avoid]

    def score(box: Any, i: int) -> tuple[float, int]:
        """(hard: overlap area or outside the axes, soft: nearer another point)."""
        hard = sum(_overlap(box, b) for b in boxes) + \
            sum(_overlap(box, d) for j, d in enumerate(dots) if j != i)
        if not _inside(box, frame):
            hard += 1e6
        own = _distance(box, *centres[i])
        soft = int(any(_distance(box, *c) < own for j, c in enumerate(centres) if j != i))
        return hard, soft

    for i in sorted(range(len(points)), key=lambda k: (not points[k].must, k)):
        point = points[i]
        best: tuple[tuple[float, int], Any, Any] | None = None
        wrapped = point.text.replace(" ", "\n", 1)  # a long label may fit on two lines
        variants = (point.text, wrapped) if wrapped != point.text else (point.text,)
        for content, ring, (dx, dy) in ((t, r, d) for t in variants for r in _RINGS
                                        for d in _DIRECTIONS):
            ha, va = _align(dx, dy)
            text = ax.annotate(content, (point.x, point.y),
                               xytext=(dx * ring, dy * ring * 0.7), textcoords="offset points",
                               ha=ha, va=va, fontsize=fontsize, zorder=5,
                               arrowprops=(dict(arrowstyle="-", lw=0.5, color="0.45", shrinkA=0,
                                                shrinkB=3) if ring > _RINGS[0] else None))
            box = text.get_window_extent(renderer).padded(1.5)
            cost = score(box, i)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text, box)
            else:
                text.remove()
            if cost == (0, 0):
                break
        if best is None:  # pragma: no cover - there is always a candidate
            continue
        (hard, _), text, box = best
        if hard > 0 and not point.must:
            text.remove()
            continue
        placed.append(text)
        boxes.append(box)
    return placed


def point_boxes(ax: Any, points: Sequence[tuple[float, float]],
                marker_px: float = 9.0) -> list[Any]:
    """Display-space squares around data points."""
    from matplotlib.transforms import Bbox

    half = marker_px / 2
    return [Bbox.from_extents(px - half, py - half, px + half, py + half)
            for px, py in (ax.transData.transform(p) for p in points)]


def free_position(ax: Any, text: Any, candidates: Sequence[tuple[float, float]],
                  boxes: Sequence[Any]) -> bool:
    """Move ``text`` to the first candidate (data coordinates) where its box stays inside the
    axes and overlaps none of ``boxes``; remove it and return False if there is none."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    for position in candidates:
        text.set_position(position)
        box = text.get_window_extent(renderer).padded(1.5)
        if _inside(box, frame) and not any(_overlap(box, b) for b in boxes):
            return True
    text.remove()
    return False


def overlapping_pairs(texts: Sequence[Any]) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap (for tests and self-checks)."""
    if not texts:
        return []
    renderer = texts[0].figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    return [(texts[i].get_text(), texts[j].get_text())
            for i in range(len(texts)) for j in range(i + 1, len(texts))
            if _overlap(boxes[i], boxes[j]) > 0]
