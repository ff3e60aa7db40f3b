"""`python -m lfr_alerts`: run the alerts service."""

from lfr_platform.service import run_service

from lfr_alerts.bootstrap import build
from lfr_alerts.settings import AlertsSettings

if __name__ == "__main__":
    run_service(AlertsSettings, build)
