"""kratom-watch: a weekly PubMed monitor of kratom / depression research."""

import os

# Before Prefect is imported: no usage telemetry. Its heartbeat also races the
# temporary server's SQLite database at start-up and prints a traceback
# ("database is locked") into every CLI run.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
