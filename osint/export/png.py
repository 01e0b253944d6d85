"""The graph as a PNG picture for documents: the report's layout, the GEXF legend's colours, labels
in Chinese and English.

Drawn with matplotlib (Agg, no screen needed). Chinese labels need a CJK font: we look for one
(Noto Sans CJK, Source Han Sans, WenQuanYi, ...) and put it after DejaVu Sans in the font list, so
Latin text keeps its usual face and Han characters fall back to the CJK one. Without a CJK font the
picture is still written and a warning says which package to install.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import networkx as nx

from ..common.files import atomic_write
from ..graph.collapse import collapse_fans
from ..graph.layout import positions
from ..graph.style import CLAIM_EDGE_COLOUR, EVIDENCE_EDGE_COLOUR, colour
from .common import one_line

log = logging.getLogger(__name__)

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Serif CJK SC", "AR PL UMing CN", "Droid Sans Fallback")
MAX_LABELS = 60  # more labels than this make a picture nobody can read; the case's own nodes come first
LABEL_CHARS = 40


def cjk_font() -> str | None:
    """The family name of an installed CJK font, preferring sans-serif Simplified Chinese; None if none."""
    from matplotlib import font_manager

    def pick() -> str | None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        for family in CJK_FAMILIES:
            if family in installed:
                return family
        return next((name for name in sorted(installed) if "CJK" in name), None)

    found = pick()
    if found is None:
        # matplotlib caches the font list when it first runs; a font installed after that (by the
        # set-up, say) is only seen by a rescan.
        for path in font_manager.findSystemFonts():
            if any(mark in Path(path).name.lower() for mark in ("cjk", "wqy", "sourcehan", "droidsansfallback")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = pick()
    return found


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def _labelled(graph: nx.MultiDiGraph) -> list[Any]:
    """The nodes that get a label: the case file's, then the best connected others."""
    def rank(node: Any) -> tuple[int, int, str]:
        data = graph.nodes[node]
        tier = 0 if data.get("in_case") else (1 if data.get("collapsed") else 2)  # then "64 certificates"
        return (tier, -graph.degree(node), str(node))
    chosen = sorted(graph.nodes, key=rank)[:MAX_LABELS]
    return chosen


def _label(graph: nx.MultiDiGraph, node: Any) -> str:
    text = one_line(graph.nodes[node].get("label", node))
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "\u2026"


# Where a label may go around its node, in points, tried in order: below, above, right, left, then
# farther out with a leader line. A label that fits nowhere free is left out (case labels get most room).
_NEAR = [(0, -7, "center", "top"), (0, 7, "center", "bottom"), (7, 0, "left", "center"),
         (-7, 0, "right", "center"), (7, -7, "left", "top"), (-7, 7, "right", "bottom"),
         (7, 7, "left", "bottom"), (-7, -7, "right", "top")]
_FAR = [(r * dx, r * dy, ha, va) for r in (20, 34, 50, 70)
        for dx, dy, ha, va in ((0, -1, "center", "top"), (0, 1, "center", "bottom"), (1, 0, "left", "center"),
                               (-1, 0, "right", "center"), (0.7, -0.7, "left", "top"), (-0.7, 0.7, "right", "bottom"),
                               (0.7, 0.7, "left", "bottom"), (-0.7, -0.7, "right", "top"))]


def place_labels(ax: Any, fig: Any, graph: nx.MultiDiGraph, pos: dict[str, tuple[float, float]],
                 labels: dict[Any, str]) -> dict[Any, Any]:
    """Draw each label where it overlaps no label drawn before it; node -> its box in display pixels."""
    renderer = fig.canvas.get_renderer()
    placed: dict[Any, Any] = {}
    for node, text in labels.items():
        x, y = pos[str(node)]
        tries = _NEAR + (_FAR if graph.nodes[node].get("in_case") or graph.nodes[node].get("collapsed") else [])
        for i, (dx, dy, ha, va) in enumerate(tries):
            arrow = {"arrowstyle": "-", "color": "#777777", "lw": 0.5} if i >= len(_NEAR) else None
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                              fontsize=7, zorder=4, arrowprops=arrow,
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
            box = ann.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed.values()):
                placed[node] = box
                break
            ann.remove()
    return placed


_GLYPH = re.compile(r"Glyph (\d+) .*missing from font")


def _report_missing_glyphs(caught: list[warnings.WarningMessage], families: list[str], target: Path) -> None:
    """One warning naming the characters drawn as boxes, instead of matplotlib's one per glyph."""
    missing = sorted({int(m.group(1)) for w in caught if (m := _GLYPH.search(str(w.message)))})
    if missing:
        sample = " ".join(f"U+{cp:04X}" for cp in missing[:12]) + (" ..." if len(missing) > 12 else "")
        log.warning("%s: %d character(s) drawn as boxes, no glyph in %s: %s", target, len(missing),
                    ", ".join(families), sample)


def export_png(graph: nx.MultiDiGraph, path: str | os.PathLike[str], *, dpi: int = 150,
               on_labels: Any = None) -> list[Path]:
    """Write the picture to `path`; returns [path].

    on_labels(drawn_graph, {node: label box in pixels}) is called once the labels are placed (for tests).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    target = Path(path)
    full = graph
    graph = collapse_fans(graph)  # "64 certificates" instead of 64 dots; the exports keep every one
    pos = positions(graph)
    n = graph.number_of_nodes()
    side = min(8.0 + n ** 0.5 * 0.35, 30.0)  # inches: readable for 10 nodes, bounded for 100,000
    labelled = _labelled(graph)
    labels = {node: _label(graph, node) for node in labelled}
    font = cjk_font()
    if font is None and any(_has_han(text) for text in labels.values()):
        log.warning("no CJK font installed: Chinese labels in %s will show as boxes "
                    "(install fonts-noto-cjk, or any Noto Sans CJK / WenQuanYi font)", target)
    families = ["DejaVu Sans"] + ([font] if font else [])
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(side, side * 0.75), dpi=dpi)
        try:
            ax.set_axis_off()
            title = one_line(graph.graph.get("title") or graph.graph.get("case_id") or "")
            if title:
                shown = f"; {graph.number_of_nodes()} drawn" if graph is not full else ""
                ax.set_title(f"{title}  ({full.number_of_nodes()} nodes, {full.number_of_edges()} edges{shown})",
                             fontsize=12)
            evidence, claims = [], []
            for u, v, data in graph.edges(data=True):
                if u == v or str(u) not in pos or str(v) not in pos:
                    continue
                (claims if data.get("claim") else evidence).append((pos[str(u)], pos[str(v)]))
            if evidence:
                ax.add_collection(LineCollection(evidence, colors=EVIDENCE_EDGE_COLOUR, linewidths=0.5, alpha=0.5, zorder=1))
            if claims:
                ax.add_collection(LineCollection(claims, colors=CLAIM_EDGE_COLOUR, linewidths=0.9, alpha=0.8,
                                                 linestyles="dashed", zorder=2))
            nodes = sorted(graph.nodes, key=str)
            xs = [pos[str(node)][0] for node in nodes]
            ys = [pos[str(node)][1] for node in nodes]
            kinds = [str(graph.nodes[node].get("kind", "")) for node in nodes]
            sizes = [12 + 6 * min(graph.degree(node), 40) ** 0.8 for node in nodes]
            edges = ["#222222" if graph.nodes[node].get("in_case") else "none" for node in nodes]
            ax.scatter(xs, ys, s=sizes, c=[colour(k) for k in kinds], edgecolors=edges, linewidths=0.8, zorder=3)
            present = sorted(set(kinds), key=lambda k: (kinds.count(k) * -1, k))
            handles = [Line2D([], [], marker="o", linestyle="", color=colour(k), label=k.replace("_", " "))
                       for k in present]
            if claims:
                handles.append(Line2D([], [], color=CLAIM_EDGE_COLOUR, linestyle="dashed", label="claim of the case file"))
            if handles:
                ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=True)
            if xs:
                pad = 0.08
                ax.set_xlim(min(xs) - pad, max(xs) + pad)
                ax.set_ylim(min(ys) - pad, max(ys) + pad)
            placed = place_labels(ax, fig, graph, pos, labels)  # after the limits: boxes are in pixels
            if on_labels is not None:
                on_labels(graph, placed)
            with atomic_write(target, "wb") as fh, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": "osint"})
            _report_missing_glyphs(caught, families, target)
        finally:
            plt.close(fig)
    return [target]
