"""The HTML report: one self-contained page with well-formed inline SVG plots and the tables."""

from __future__ import annotations

import copy
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from test_benchmark_support import _toy, host

from faircausesyn import Metric
from faircausesyn.pipeline import Pipeline
from faircausesyn.report import build_page, render_benchmark_html, render_evaluation_html


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", page, flags=re.S)]


def _self_contained(page: str) -> None:
    p = _Collect()
    p.feed(page)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    for tag, key, value in p.attrs:
        if key in ("src", "href") and tag != "a":
            assert not str(value).startswith(("http", "//")), (tag, key, value)
    assert not re.search(r"(src|href)=['\"]https?:", page)


@pytest.fixture(scope="module")
def records():
    """Two generators x two seeds on toy SFM data, as the runner records them (one made to fail)."""
    from faircausesyn.benchmark.cell import run_cell

    df, spec = _toy(300, seed=2)
    out = []
    for label, cfg in (("boot", {}), ("indep", {"independent": True})):
        for seed in (0, 1):
            res = Pipeline("bootstrap_test", generator_config=cfg, evaluators=["marginal_test"], decomposition={"method": "plugin", "n_boot": 20, "nuisance": "linear"}, seed=seed, host=host()).run(df, spec)
            d = res.to_dict()
            d.pop("config")
            out.append({"key": f"{label}{seed}", "status": "ok", "dataset": "toy", "generator": label, "constraint": "preserve", "seed": seed, "result": d, "worker": {"host": "here"}})
    bad = run_cell({"key": "bad", "dataset": {"name": "toy_missing"}, "generator": {"name": "bootstrap_test", "label": "bad", "config": {}}, "constraint": {"name": "preserve", "config": {}}, "seed": 0, "holdout": 0.3, "plugins": []})
    assert bad["status"] == "error"
    return [*out, bad]


def test_benchmark_page_has_every_part_and_renders_standalone(records, tmp_path):
    path = render_benchmark_html(records, tmp_path / "report.html", title="toy")
    page = path.read_text(encoding="utf-8")
    _self_contained(page)
    assert page.startswith("<!DOCTYPE html>") and "<title>faircausesyn benchmark: toy</title>" in page
    svgs = _svgs(page)
    assert len(svgs) >= 3  # decomposition bars, times, causal graph
    assert all(s.tag.endswith("svg") and len(list(s.iter())) > 20 for s in svgs)
    for text in ("Causal fairness: real against synthetic", "Deviation |synthetic − real|", "marginal_test", "mean_gap", "Cost", "Causal graph", "Cells that did not run", "toy_missing"):
        assert text in page, text
    assert "boot" in page and "indep" in page and "real (train)" in page


def test_fairness_against_utility_scatter_when_utility_is_measured(records):
    recs = copy.deepcopy(records)
    for i, r in enumerate(recs[:4]):
        r["result"]["metrics"]["utility"] = [{"name": "tstr_auc", "value": 0.6 + 0.05 * i}, {"name": "trtr_auc", "value": 0.8}]
    page = build_page(recs)
    assert "Fairness against utility" in page and "utility/tstr_auc" in page
    assert len(_svgs(page)) == len(_svgs(build_page(records))) + 1


def test_evaluation_page_for_one_pair(tmp_path):
    df, spec = _toy(200)
    res = Pipeline("bootstrap_test", evaluators=["marginal_test"], decomposition={"method": "plugin", "n_boot": 10, "nuisance": "linear"}, host=host()).run(df, spec)
    page = render_evaluation_html(res, tmp_path / "eval.html").read_text()
    _self_contained(page)
    assert "Causal fairness: real against synthetic" in page and "mean_gap" in page and len(_svgs(page)) >= 3
    plain = render_evaluation_html([Metric("quality", 0.8, ideal=1.0, goal="max")], tmp_path / "m.html", dataset="mine").read_text()
    assert "quality" in plain and "mine" in plain and "No decompositions" in plain
    with pytest.raises(TypeError):
        render_evaluation_html(42, tmp_path / "x.html")


def test_plots_on_one_page_share_no_svg_id(records):
    page = build_page(records)
    ids = re.findall(r'\bid="([^"]+)"', "".join(re.findall(r"<svg.*?</svg>", page, flags=re.S)))
    assert ids and len(ids) == len(set(ids))
    refs = set(re.findall(r'href="#([^"]+)"', page)) | set(re.findall(r"url\(#([^)]+)\)", page))
    assert refs <= set(ids) | set(re.findall(r"id='([^']+)'", page))
    assert "<metadata>" not in page
