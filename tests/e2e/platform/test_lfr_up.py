"""Issue 2's first bar: `lfr up` brings every service to ready through the gateway, and SIGINT (Ctrl-C) stops
everything it started, leaving no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from lfr_cli.topology import SERVICES

from tests.fixtures.services import free_ports

READY_BUDGET_S = 180.0  # generous on a loaded CI box; the ready time itself is printed and reported


@pytest.mark.slow
def test_lfr_up_serves_every_service_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    gateway_port, broker_port = free_ports(2)
    offset = 20000 + (os.getpid() % 500) * 20
    argv = [
        sys.executable,
        "-m",
        "lfr_cli.main",
        "up",
        "--data-dir",
        str(tmp_path),
        "--port",
        str(gateway_port),
        "--broker-port",
        str(broker_port),
        "--port-offset",
        str(offset),
        "--ready-timeout",
        str(READY_BUDGET_S),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + READY_BUDGET_S + 30
        output = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert any(line.startswith("LFR platform ready") for line in output), "".join(output)
        with httpx.Client(timeout=5.0) as client:
            for spec in SERVICES:
                for prefix in spec.prefixes:
                    response = client.get(f"http://127.0.0.1:{gateway_port}/api/v1/{prefix}/readyz")
                    assert response.status_code == 200, (prefix, response.text)
            console = client.get(f"http://127.0.0.1:{gateway_port}/")
            assert console.status_code == 200 and "<html" in console.text.lower()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= len(SERVICES) + 2  # services, gateway, broker

        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        rest = proc.stdout.read()
        assert "stopped" in rest
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in children:
            if child.is_running():
                child.kill()
