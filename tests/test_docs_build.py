"""The documentation builds with ``mkdocs build --strict``: missing planned pages are fine, broken links are not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

__import__("mkdocs")


def _build(project: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(project / "mkdocs.yml"), "-d", str(site)],
        cwd=project, capture_output=True, text=True, timeout=120,
    )


def _copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copytree(ROOT / "tools", project / "tools")
    return project


def test_the_docs_build_strict_without_warnings(tmp_path):
    res = _build(ROOT, tmp_path / "site")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING" not in res.stderr, res.stderr
    for page in (ROOT / "docs").glob("*.md"):
        html = tmp_path / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert html.exists(), f"{page.name} was not built"
        assert (f'href="{page.stem}/"' in (tmp_path / "site" / "index.html").read_text()) or page.stem == "index", f"{page.name} is not in the nav"


def test_a_broken_link_fails_the_build(tmp_path):
    project = _copy(tmp_path)
    (project / "docs" / "zz-broken.md").write_text("# Broken\n\nSee [the missing page](no-such-page.md).\n")
    res = _build(project, tmp_path / "site")
    assert res.returncode != 0 and "no-such-page.md" in res.stderr


def test_a_broken_anchor_fails_the_build(tmp_path):
    project = _copy(tmp_path)
    (project / "docs" / "zz-anchor.md").write_text("# Anchors\n\n## Present\n\nSee [here](#absent).\n")
    res = _build(project, tmp_path / "site")
    assert res.returncode != 0 and "absent" in res.stderr


def test_a_planned_page_not_written_yet_is_no_error_and_unlisted_pages_are_in_the_nav(tmp_path):
    project = _copy(tmp_path)
    (project / "docs" / "benchmarks.md").unlink(missing_ok=True)
    (project / "docs" / "zz-extra.md").write_text("# Extra\n\nBack to [benchmarks](benchmarks.md) and [home](index.md).\n")
    res = _build(project, tmp_path / "site")
    assert res.returncode == 0, res.stderr
    assert "planned page benchmarks.md" in res.stderr
    assert (tmp_path / "site" / "zz-extra" / "index.html").exists()
    assert "zz-extra/" in (tmp_path / "site" / "index.html").read_text()
