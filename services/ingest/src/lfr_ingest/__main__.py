"""`python -m lfr_ingest`: run the ingest service."""

from lfr_platform.service import run_service

from lfr_ingest.bootstrap import build
from lfr_ingest.settings import IngestSettings

if __name__ == "__main__":
    run_service(IngestSettings, build)
