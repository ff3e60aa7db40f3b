"""A service script run in its own interpreter, for tests of how `serve` answers signals."""

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def service_process(script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`python -c script args...` with text pipes; killed on the way out if a test left it running."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
