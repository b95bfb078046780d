"""The weekly Prefect deployment: a Cron schedule from the settings, served by this process."""

from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.pipeline import weekly_digest
from flows.settings import Settings

DEPLOYMENT_NAME = "weekly"


def weekly_deployment(settings: Settings) -> RunnerDeployment:
    """The weekly-digest flow on its schedule (default Monday 07:00 in KRATOM_WATCH_TIMEZONE).

    Scheduled runs pass kind="scheduled": each covers what is new since the
    last scheduled run. A run started by hand with since/until is a manual
    rerun of that range (see weekly_digest). One run at a time.
    """
    return weekly_digest.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(settings.schedule.cron(), timezone=settings.timezone)],
        parameters={"kind": "scheduled"},
        concurrency_limit=1,
        description="Weekly kratom / depression PubMed digest",
        tags=["kratom-watch"],
    )


def serve_weekly(settings: Settings) -> None:
    serve(weekly_deployment(settings))
