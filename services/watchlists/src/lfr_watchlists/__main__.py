"""`python -m lfr_watchlists`: run the watchlists service."""

from lfr_platform.service import run_service

from lfr_watchlists.bootstrap import build
from lfr_watchlists.settings import WatchlistsSettings

if __name__ == "__main__":
    run_service(WatchlistsSettings, build)
