"""The kratom-watch command line: a thin adapter over the flows and modules."""

from __future__ import annotations

import sys
from datetime import date

import click

from flows.errors import KratomWatchError


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """kratom-watch: weekly PubMed digest of kratom / depression research."""


@cli.command()
@click.option("--since", type=DateParam(), help="First day of the window (created in PubMed).")
@click.option("--until", type=DateParam(), help="Last day of the window, included.")
def run(since: date | None, until: date | None) -> None:
    """Find, classify and store a window's papers and write its digest.

    With no dates: the last complete Monday-to-Sunday week. Prints the paths
    of the files written, one per line.
    """
    # Check settings and dates before Prefect starts, so a mistake costs no server start-up.
    from flows.pipeline import resolve_window
    from flows.settings import load_settings

    settings = _or_fail(load_settings)
    since, until = _or_fail(resolve_window, settings, since, until)

    from flows.pipeline import weekly_digest

    state = weekly_digest(since=since, until=until, return_state=True)
    if not state.is_completed():
        raise click.ClickException(state.message or "the run failed (see the Prefect log)")
    for path in state.result():
        click.echo(path)


def _or_fail(function, *args):
    try:
        return function(*args)
    except KratomWatchError as error:
        raise click.ClickException(str(error)) from None


def main() -> None:
    try:
        cli(prog_name="kratom-watch")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
