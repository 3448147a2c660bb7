"""docs/cli.md is the current help of every command."""

from pathlib import Path

from faircausesyn.cli.docgen import render


def test_cli_reference_is_current():
    page = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    assert page.read_text() == render(), "docs/cli.md is stale: run `python -m faircausesyn.cli.docgen > docs/cli.md`"
