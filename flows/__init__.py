"""kratom-watch: a weekly PubMed monitor of kratom / depression research."""

import os

# Before Prefect is imported: no usage telemetry. Its heartbeat also races the
# temporary server's SQLite database at start-up and prints a traceback
# ("database is locked") into every CLI run.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Our modules' log lines (retries, fetches) in the Prefect UI beside the flow's own; outside a
# flow run (plain-function use) they just go to the console.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "kratom_watch")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
