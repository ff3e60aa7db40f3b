"""`python -m lfr_audit`: run the audit service."""

from lfr_platform.service import run_service

from lfr_audit.bootstrap import build
from lfr_audit.settings import AuditSettings

if __name__ == "__main__":
    run_service(AuditSettings, build)
