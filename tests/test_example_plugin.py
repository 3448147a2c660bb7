"""The example third-party plugin (docs/examples/faircausesyn-marginals) installs, is listed and works by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "faircausesyn-marginals"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    env = dict(os.environ, PYTHONPATH=str(target) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return target, env


def _cli(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "faircausesyn", *args], capture_output=True, text=True, env=env, timeout=300, cwd=cwd)


def test_listed_by_plugins_command(installed):
    _, env = installed
    res = _cli(env, "plugins", "--json")
    assert res.returncode == 0, res.stderr
    plugins = {p["name"]: p for p in json.loads(res.stdout)}
    mine = plugins["marginals"]
    assert mine["status"] == "ok" and mine["distribution"] == "faircausesyn-marginals"
    assert mine["components"] == {"generator": ["marginals"], "evaluator": ["marginal_means"]}


def test_works_by_name_and_passes_conformance(installed):
    _, env = installed
    code = """
import faircausesyn
from faircausesyn.testing import check_generator, check_evaluator
gen = faircausesyn.get_generator("marginals", seed=3)
df, spec = faircausesyn.load_dataset("heart_failure")
out = gen.fit(df, spec).sample(50)
assert list(out.columns) == list(df.columns) and len(out) == 50
check_generator(lambda: faircausesyn.get_generator("marginals"))
check_evaluator(lambda: faircausesyn.get_evaluator("marginal_means"))
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-3000:]
