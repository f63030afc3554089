"""The HTML report is one self-contained, well-formed page showing every column."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from siklus.data.quality import compute_profile, render_html


class _Tags(HTMLParser):
    """Collects start tags and their attributes, checking nesting as it goes."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "line", "path"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": x * 3 + rng.normal(scale=0.01, size=200),
            'odd <b>"name"</b> & co': rng.choice(["p", "q"], 200),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(200), unit="D"),
            "same": 1,
        }
    )
    path = tmp_path_factory.mktemp("html") / "frame.parquet"
    frame.to_parquet(path, index=False)
    return render_html(compute_profile(path, dataset="demo:3", sha256="ab" * 32))


def test_self_contained_no_network_no_script(page: str):
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    parser = _Tags()
    parser.feed(page)
    tags = {tag for tag, _ in parser.tags}
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert not any("src" in attrs for _, attrs in parser.tags)
    assert parser.open == [], f"unclosed tags: {parser.open}"


def test_every_column_has_a_card_and_names_are_escaped(page: str):
    assert page.count('class="card"') == 5
    assert "odd &lt;b&gt;&quot;name&quot;&lt;/b&gt; &amp; co" in page
    assert '<b>"name"</b>' not in page
    assert "Profile of demo:3" in page


def test_svg_charts_are_well_formed(page: str):
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    kinds = {ET.fromstring(chart).get("class") for chart in charts}
    assert {"hist", "heatmap", "legend"} <= kinds
    heatmap = next(c for c in charts if 'class="heatmap"' in c)
    assert "x x y: 1.000" in heatmap  # cell tooltips carry the value
    histogram = next(c for c in charts if 'class="hist"' in c)
    assert histogram.count("<rect") == 20


def test_overview_and_warnings_are_shown(page: str):
    assert ">200</b><span>rows</span>" in page
    assert "constant" in page and "high correlation" in page
    assert "2024-01-01" in page  # time axis labelled as dates


def test_renders_in_a_real_browser(page: str, tmp_path_factory: pytest.TempPathFactory):
    from siklus.testing import browser_probe

    path = tmp_path_factory.mktemp("browser") / "profile.html"
    path.write_text(page, encoding="utf-8")
    seen = browser_probe(path)
    assert seen["errors"] == []
    assert seen["svgs"], "the profile shows charts"
    for svg in seen["svgs"]:
        assert svg["width"] > 50 and svg["height"] > 20 and svg["shapes"] > 0
    for column in ("x", "y", 'odd <b>"name"</b> & co', "when", "same"):
        assert column in seen["text"]  # escaped in the source, shown literally
    assert seen["bodyWidth"] <= 1280, "nothing overflows a normal window sideways"
