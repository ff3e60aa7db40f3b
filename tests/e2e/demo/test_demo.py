"""`lfr demo` against the shared embedded platform: authorised deployment, watchlist from real faces, an
image-sequence camera, the alert, both people's decisions, and the post-deployment figures."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from tests.fixtures.services import Platform

pytestmark = pytest.mark.slow

# A route that does not exist yet (404/405 from the service) means a peer's REST API has not landed in
# this tree; anything else (a refusal, a timeout, wrong figures) is a failure of the demo or platform.
NOT_BUILT = re.compile(r"HTTP (404 \(not_found: Not Found\)|405 \(method_not_allowed: Method Not Allowed\))")


def test_demo_runs_end_to_end(platform: Platform) -> None:
    from lfr_cli.main import app

    result = CliRunner().invoke(
        app,
        ["demo", "--url", platform.gateway_url, "--data-dir", str(platform.data_dir), "--timeout", "120",
         "--json"],
    )  # fmt: skip
    output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
    if result.exit_code != 0 and NOT_BUILT.search(output):
        pytest.skip(f"a peer service's REST API is not in this tree yet: {output.strip()}")
    assert result.exit_code == 0, output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["alerts"] >= 1
    assert figures["true_alerts"] >= 1  # the engagement officer confirmed the watchlist person
    assert figures["faces_processed"] >= figures["alerts"]
    assert figures["false_alerts"] == 0  # the passer-by (not on the watchlist) raised nothing
