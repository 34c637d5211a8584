"""The `easgate` command line."""
from __future__ import annotations

import typer

app = typer.Typer(help="easgate: an Exchange ActiveSync gateway simulator.", no_args_is_help=True)


def main() -> None:
    app()
