"""The kratom-watch command line: a thin adapter over the flows and modules."""

from __future__ import annotations

import atexit
import gc
import os
import sys
from datetime import date

import click

from flows import corpora
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
@click.option(
    "--scheduled",
    is_flag=True,
    help="Run as the weekly schedule does: with no dates, what is new since the last "
    "scheduled run; papers sent before are left out and the ones listed are marked sent.",
)
@click.option(
    "--mark-sent", is_flag=True, help="Mark this manual run's papers as sent for scheduled runs."
)
@click.option("--no-email", is_flag=True, help="Do not mail the digest, even if SMTP is set.")
@click.option("--resend", is_flag=True, help="Mail the digest again to recipients who had it.")
def run(since, until, scheduled, mark_sent, no_email, resend) -> None:
    """Find, classify and store a window's papers; write (and mail) its digest.

    With no dates: the last complete Monday-to-Sunday week. Prints the paths
    of the files written, one per line.
    """
    # Check settings and dates before Prefect starts, so a mistake costs no server start-up.
    from flows.settings import check_reports_folder, load_settings
    from flows.windows import resolve_window

    if scheduled and (since or until):
        raise click.UsageError("--scheduled takes no dates (for a range, use --mark-sent)")
    settings = _or_fail(load_settings)
    _or_fail(check_reports_folder, settings)
    if not scheduled:
        since, until = _or_fail(resolve_window, settings, since, until)

    from flows.prefect_api import check_server

    _or_fail(check_server, required=False)
    from flows.pipeline import run_here

    state = run_here(
        os.environ,
        since=since,
        until=until,
        kind="scheduled" if scheduled else "manual",
        mark_sent=mark_sent,
        send_email=not no_email,
        resend=resend,
    )
    if not state.is_completed():
        raise click.ClickException(state.message or "the run failed (see the Prefect log)")
    for path in state.result():
        click.echo(path)


@cli.command()
def serve() -> None:
    """Serve the weekly flow as a Prefect deployment with its weekly schedule.

    Needs a Prefect server (`prefect server start`) or Prefect Cloud: schedules
    never fire on Prefect's temporary server. Runs until interrupted.
    """
    from flows.prefect_api import check_server
    from flows.settings import load_settings

    settings = _or_fail(load_settings)
    _or_fail(check_server, required=True)
    from flows.schedule import serve_weekly

    _or_fail(serve_weekly, settings)


@cli.command(name="classify")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def classify_command(file) -> None:
    """Classify JSON Lines records (FILE or stdin) and write one JSON line per record.

    Each input line needs a title; pmid, abstract, publication_types and
    mesh_terms are used when present. Output adds design, depression_relevant,
    evidence and confidence. A bad line is reported on stderr with its number,
    and the good lines are still written; the exit code is 1 if any line was bad.
    """
    from flows.evaluate import classify_jsonl

    out, err = click.get_text_stream("stdout"), click.get_text_stream("stderr")
    if _or_fail(classify_jsonl, file, out, err):
        sys.exit(1)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option(
    "--misses",
    is_flag=True,
    help="List each wrong record with its evidence (with --cv: of rct and systematic_review).",
)
@click.option(
    "--cv",
    "folds",
    type=click.IntRange(min=2),
    help="Cross-validate instead: retrain the model on K-1 folds, score the Kth (needs "
    f"scikit-learn). FILE is the dev set (default {corpora.DEV}).",
)
@click.option(
    "--external",
    type=click.Path(dir_okay=False),
    help=f"With --cv: the external corpus to add (default {corpora.EXTERNAL}, skipped when "
    "absent).",
)
def evaluate(file, misses, folds, external) -> None:
    """Score the classifier on a hand-labelled JSON Lines FILE (like tests/fixtures/dev.jsonl).

    With --cv K: K-fold cross-validation grouped by paper over the dev set and, when present,
    the external corpus; per-label precision, recall and F1 with 95% intervals, accuracy
    per source, and a calibration table.
    """
    if folds:
        _cross_validate(file, folds, external, misses)
        return
    if file is None:
        raise click.UsageError("give a FILE to evaluate, or --cv K")
    from flows.evaluate import evaluate as score
    from flows.evaluate import format_evaluation, read_labelled

    try:
        rows = read_labelled(file)
    except OSError as error:
        raise click.ClickException(f"cannot read {file}: {error.strerror}") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(format_evaluation(score(rows), misses=misses), nl=False)


def _cross_validate(dev, folds, external, misses=False) -> None:
    from flows.classify.train import read_examples
    from flows.evaluate import (
        cross_validate,
        cv_report,
        format_cv,
        format_cv_misses,
        with_relevance_labels,
    )

    _require_sklearn()
    examples = _or_fail(read_examples, dev or corpora.DEV, "dev")
    if external is None and corpora.EXTERNAL.exists():
        external = corpora.EXTERNAL
    if external is not None:
        examples += _or_fail(read_examples, external, "external")
        if corpora.EXTERNAL_RELEVANCE.exists():
            _or_fail(with_relevance_labels, examples, corpora.EXTERNAL_RELEVANCE)
    predictions = cross_validate(examples, folds)
    click.echo(format_cv(cv_report(predictions, folds)), nl=False)
    if misses:
        click.echo(format_cv_misses(predictions), nl=False)


def _require_sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "training needs scikit-learn: pip install 'kratom-watch[train]'"
        ) from None


@cli.command()
@click.option(
    "--dev",
    type=click.Path(dir_okay=False),
    default=str(corpora.DEV),
    show_default=True,
    help="Our hand-labelled kratom papers.",
)
@click.option(
    "--external",
    type=click.Path(dir_okay=False),
    default=str(corpora.EXTERNAL),
    show_default=True,
    help="The external corpus (its rows stay outside the repository).",
)
@click.option("--no-external", is_flag=True, help="Train on the dev file alone.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to write the model (default: the committed flows/classify/model.npz).",
)
def train(dev, external, no_external, out) -> None:
    """Train the study-design model from labelled JSON Lines files (needs scikit-learn).

    Same files, same bytes: the vocabulary is sorted, the fit is deterministic and the
    file is written with fixed dates. Prints the model file and what it was trained on.
    """
    from flows.classify.model import MODEL_PATH
    from flows.classify.train import train as train_model

    _require_sklearn()
    _, info = _or_fail(train_model, dev, None if no_external else external, out)
    click.echo(out or MODEL_PATH)
    for data in info["data"]:
        click.echo(f"  {data['source']}: {data['file']} ({data['papers']} papers)")
    click.echo(f"  {info['features']} features")


@cli.command()
def reclassify() -> None:
    """Bring every stored paper's label up to the current classifier version."""
    from flows.classify import CLASSIFIER_VERSION
    from flows.runs import reclassify_store
    from flows.settings import load_settings

    settings = _or_fail(load_settings, None, require_email=False)
    changed, checked = _or_fail(reclassify_store, settings)
    click.echo(
        f"{checked} paper(s) reclassified to classifier {CLASSIFIER_VERSION}; "
        f"{changed} label(s) changed"
    )


def _or_fail(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except KratomWatchError as error:
        raise click.ClickException(str(error)) from None


def main() -> None:
    # On its way out Python collects its garbage once more, over every object the libraries
    # made (Prefect's, pandas', matplotlib's): about half a second of a weekly run, for memory
    # the process hands back anyway (docs/benchmarks.md, weekly). Frozen, they are left
    # alone. Registered before any command imports Prefect, it runs after Prefect's exit
    # handlers (their flushes to the server), which run last-registered first.
    atexit.register(gc.freeze)
    try:
        cli(prog_name="kratom-watch")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
