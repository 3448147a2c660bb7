"""Entry point of the ``faircausesyn`` command: the group, error handling and command registration.

Every command lives in its own module of this package and is listed in
``COMMAND_MODULES``; each module exposes ``commands`` (a list of click commands).
User errors (:class:`~faircausesyn.errors.FairCauseSynError`) print one line,
``error: ...``, and exit with code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

COMMAND_MODULES = [
    "faircausesyn.cli.core_cmds",
    "faircausesyn.cli.demo_cmd",
    "faircausesyn.cli.generate_cmd",
    "faircausesyn.cli.benchmark_cmd",
    "faircausesyn.cli.graph_cmd",
    "faircausesyn.cli.fairness_cmds",
]


class FcsGroup(click.Group):
    """A click group that turns user errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        from ..errors import FairCauseSynError

        debug = bool(ctx.params.get("debug")) or os.environ.get("FAIRCAUSESYN_DEBUG") == "1"
        try:
            return super().invoke(ctx)
        except FairCauseSynError as exc:
            if debug:
                raise
            _fail(str(exc))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", code=130)
        except MemoryError:
            _fail("out of memory; try fewer rows (--rows) or a smaller model")
        except OSError as exc:
            if debug:
                raise
            _fail(f"{exc.strerror or exc}: {exc.filename}" if getattr(exc, "filename", None) else str(exc))
        except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
            if debug:
                raise
            _fail(f"internal error {type(exc).__name__}: {exc} (rerun with --debug for the traceback and report it)", code=1)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(cls=FcsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, default=False, help="Show full tracebacks.")
@click.version_option(package_name="faircausesyn")
def cli(debug: bool) -> None:
    """faircausesyn: causally fair synthetic tabular health data."""


for _name in COMMAND_MODULES:
    for _cmd in importlib.import_module(_name).commands:
        cli.add_command(_cmd)


def main() -> None:
    """Run the CLI (console-script entry point)."""
    cli(prog_name="faircausesyn")
