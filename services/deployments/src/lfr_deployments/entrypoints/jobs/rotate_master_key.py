"""`python -m lfr_deployments rotate-master-key`: one re-wrap run, for a Kubernetes Job or by hand.

Reads the same settings as the service (LFR_MASTER_KEY: the new key; LFR_PREVIOUS_MASTER_KEYS: the
retired ones; LFR_DATABASE_URL), prints one JSON summary on stdout (keys: `RewrapReport.as_dict`) and exits
0 when every live key is under the current master key, 1 when some failed (named in `failures`), 2 on bad
settings. Logs go to stderr; key material goes nowhere. Standard library only: the service image has no
CLI framework.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from lfr_platform.key_rotation import DEFAULT_BATCH_SIZE
from lfr_platform.settings import ConfigurationError
from lfr_platform.telemetry import configure_logging

from lfr_deployments.bootstrap import rotate_master_key
from lfr_deployments.settings import DeploymentsSettings

COMMAND = "rotate-master-key"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"python -m lfr_deployments {COMMAND}",
        description="Re-wrap every live data key under LFR_MASTER_KEY (unwrapping with "
        "LFR_PREVIOUS_MASTER_KEYS) and record MasterKeyRotated. Safe to run again.",
    )
    p.add_argument("--actor", required=True, help="who runs the rotation (recorded in the audit trail)")
    p.add_argument("--reason", default="", help="why (e.g. scheduled rotation, suspected compromise)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="keys read per query")
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    if args.batch_size < 1:
        parser().error("--batch-size must be at least 1")
    if not args.actor.strip():
        parser().error("--actor must name a person")
    try:
        settings = DeploymentsSettings.load()
    except ConfigurationError as error:
        print(str(error), file=sys.stderr)  # noqa: T201 - the message an operator acts on
        return 2
    configure_logging(settings.service, "WARNING", stream=sys.stderr)  # stdout is the summary
    report = asyncio.run(
        rotate_master_key(settings, actor=args.actor.strip(), reason=args.reason, batch_size=args.batch_size)
    )
    print(json.dumps(report.as_dict(), sort_keys=True))  # noqa: T201 - the Job's result
    return 0 if report.ok else 1
