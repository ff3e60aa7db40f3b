"""The committed gRPC stubs must match proto/: a stale stub would silently speak an old contract."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_generated_stubs_match_the_protos() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_proto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_stubs_import_and_round_trip() -> None:
    from lfr_proto.lfr.inference.v1 import enrolment_pb2

    request = enrolment_pb2.EnrolRequest(deployment_id="d-1", request_id="r-1")
    assert enrolment_pb2.EnrolRequest.FromString(request.SerializeToString()).deployment_id == "d-1"
