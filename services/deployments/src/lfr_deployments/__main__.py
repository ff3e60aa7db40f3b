"""`python -m lfr_deployments`: run the deployments service.

`python -m lfr_deployments rotate-master-key --actor NAME` re-wraps the data keys once and exits
(entrypoints/jobs/rotate_master_key.py).
"""

import sys

from lfr_platform.service import run_service

from lfr_deployments.bootstrap import build
from lfr_deployments.entrypoints.jobs import rotate_master_key
from lfr_deployments.settings import DeploymentsSettings

if __name__ == "__main__":
    if sys.argv[1:2] == [rotate_master_key.COMMAND]:
        raise SystemExit(rotate_master_key.main(sys.argv[2:]))
    run_service(DeploymentsSettings, build)
