"""Colours per node kind: complete, distinct, and the legend in graphs/README.md is the one in style.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from osint.facts import NODE_KINDS
from osint.graph import style

README = Path(__file__).resolve().parents[1] / "graphs" / "README.md"


def test_every_node_kind_has_its_own_colour():
    assert set(NODE_KINDS) <= set(style.KINDS)
    colours = [c for c, _ in style.KINDS.values()]
    assert len(set(colours)) == len(colours)
    assert style.colour("no-such-kind") == style.FALLBACK_COLOUR
    assert style.rgb("#FF7F00") == (255, 127, 0)


def test_node_size_grows_with_degree():
    sizes = [style.node_size(d) for d in (0, 1, 10, 1000)]
    assert sizes == sorted(sizes) and sizes[0] > 0


@pytest.mark.parametrize("readme", [README, README.parents[1] / "README.md"], ids=["graphs", "top"])
def test_the_readme_legends_match_style_py(readme):
    text = readme.read_text("utf-8")
    legend = text.split("<!-- legend:start -->\n", 1)[1].split("<!-- legend:end -->", 1)[0]
    assert legend == style.legend_markdown(), (
        f"{readme} has an old colour legend: paste the output of `python -m osint.graph.style` "
        "between the legend markers")
