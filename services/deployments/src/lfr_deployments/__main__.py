"""`python -m lfr_deployments`: run the deployments service."""

from lfr_platform.service import run_service

from lfr_deployments.bootstrap import build
from lfr_deployments.settings import DeploymentsSettings

if __name__ == "__main__":
    run_service(DeploymentsSettings, build)
