"""`python -m lfr_retention`: run the retention service."""

from lfr_platform.service import run_service

from lfr_retention.bootstrap import build
from lfr_retention.settings import RetentionSettings

if __name__ == "__main__":
    run_service(RetentionSettings, build)
