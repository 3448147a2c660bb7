"""Write the CLI reference (``docs/cli.md``) from the commands' own help texts.

``python -m faircausesyn.cli.docgen > docs/cli.md``; a test checks the page is current.
"""

from __future__ import annotations

import click


def render() -> str:
    """The Markdown CLI reference of every command."""
    from .main import cli

    # The same settings as a real invocation (click caches each command's help option on first use).
    settings = {"terminal_width": 100, "max_content_width": 100, "help_option_names": cli.context_settings.get("help_option_names", ["--help"])}
    ctx = click.Context(cli, info_name="faircausesyn", **settings)
    parts = [
        "# CLI reference",
        "",
        "Generated from the commands' help (`python -m faircausesyn.cli.docgen > docs/cli.md`).",
        "Every command exits with code 2 and one line `error: ...` on bad input; `faircausesyn --debug COMMAND`",
        "shows the traceback. `python -m faircausesyn` is the same command.",
        "",
        "```text",
        cli.get_help(ctx),
        "```",
    ]
    for name in sorted(cli.list_commands(ctx)):
        cmd = cli.get_command(ctx, name)
        sub = click.Context(cmd, info_name=name, parent=ctx, **settings)
        parts += ["", f"## `faircausesyn {name}`", "", "```text", cmd.get_help(sub), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
