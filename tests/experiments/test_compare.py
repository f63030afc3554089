"""Comparing runs: ranking by a metric, and the self-contained HTML report."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from siklus.exceptions import InvalidParameter, NotFound
from siklus.experiments import compare_runs, render_report, start_run, write_report
from siklus.store import WorkspaceContext


def _three_runs(ws: WorkspaceContext) -> list[str]:
    ids = []
    for name, c, solver, accuracy in [
        ("low <b>&", 0.1, "saga", 0.71),
        ("high", 10.0, "lbfgs", 0.93),
        ("mid", 1.0, "lbfgs", math.nan),
    ]:
        with start_run(
            "cmp", name=name, params={"C": c, "solver": solver, "seed": 1}, ctx=ws
        ) as run:
            for step in range(20):
                run.log_metric("loss", (1 - accuracy if accuracy == accuracy else 0.5) / (step + 1))
            run.log_metric("accuracy", accuracy)
        ids.append(run.run_id)
    return ids


def test_compare_ranks_by_the_metric(ws: WorkspaceContext) -> None:
    low, high, mid = _three_runs(ws)
    by_id = compare_runs([low, mid, high], metric="accuracy", ctx=ws)
    assert [r.id for r in by_id.runs] == [high, low, mid]  # NaN counts as missing: last
    assert by_id.metric_keys == ("accuracy", "loss")
    assert by_id.param_keys == ("C", "solver", "seed") and by_id.varying_params == {"C", "solver"}
    assert by_id.value(by_id.runs[-1]) is None
    ascending = compare_runs(experiment="cmp", metric="accuracy", ascending=True, ctx=ws)
    assert [r.id for r in ascending.runs] == [low, high, mid]
    in_order = compare_runs([mid, low], ctx=ws)
    assert [r.id for r in in_order.runs] == [mid, low] and in_order.metric is None
    filtered = compare_runs(experiment="cmp", metric="accuracy", filter="params.C > 0.5", ctx=ws)
    assert [r.id for r in filtered.runs] == [high, mid]


def test_compare_needs_runs_or_an_experiment(ws: WorkspaceContext) -> None:
    with pytest.raises(InvalidParameter, match="either given runs"):
        compare_runs(ctx=ws)
    with pytest.raises(InvalidParameter, match="either given runs"):
        compare_runs(["run-1"], experiment="cmp", ctx=ws)
    with pytest.raises(NotFound, match="run-nope"):
        compare_runs(["run-nope"], ctx=ws)


def test_report_is_self_contained_with_charts_and_every_run(
    ws: WorkspaceContext, tmp_path: Path
) -> None:
    ids = _three_runs(ws)
    comparison = compare_runs(experiment="cmp", metric="accuracy", ctx=ws)
    path = write_report(comparison, tmp_path / "out" / "report.html", ctx=ws)
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for run_id in ids:
        assert run_id in html
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 3  # ranking bars, the loss curves, parallel coordinates
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    assert "<polyline" in svgs[1] and "params.C" in svgs[2] and "params.solver" in svgs[2]
    assert "low &lt;b&gt;&amp;" in html and "low <b>&" not in html
    assert "<script" not in html
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert list(path.parent.iterdir()) == [path], "no temporary file left behind"


def test_report_without_series_or_params_still_renders(ws: WorkspaceContext) -> None:
    with start_run("plain", ctx=ws) as run:
        run.log_metric("accuracy", 0.5)
    comparison = compare_runs([run.run_id], metric="accuracy", ctx=ws)
    html = render_report(comparison, {}, title="One run")
    assert "<h1>One run</h1>" in html and html.count("<svg") == 1


def test_report_renders_in_a_real_browser(ws: WorkspaceContext, tmp_path: Path) -> None:
    from siklus.testing import browser_probe

    ids = _three_runs(ws)
    comparison = compare_runs(experiment="cmp", metric="accuracy", ctx=ws)
    seen = browser_probe(write_report(comparison, tmp_path / "report.html", ctx=ws))
    assert seen["errors"] == []
    assert len(seen["svgs"]) == 3
    for svg in seen["svgs"]:
        assert svg["width"] > 100 and svg["height"] > 50 and svg["shapes"] > 3
    assert "low <b>&" in seen["text"]
    for run_id in ids:
        assert run_id in seen["text"]
