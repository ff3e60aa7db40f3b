"""The embedded platform: one broker, every service as its own process, and the gateway.

`lfr up` runs a Stack in the foreground; the end-to-end tests run the same Stack, so what the tests see
is what a newcomer gets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from lfr_cli.topology import SERVICES, ServiceSpec, grpc_targets, route_table

READY_TIMEOUT_S = 60.0
T = TypeVar("T")


@dataclass
class StackConfig:
    data_dir: Path
    database_url: str | None = None  # None: a SQLite file per service under data_dir
    kafka_bootstrap: str | None = None  # None: start the embedded broker
    host: str = "127.0.0.1"
    gateway_port: int = 8000
    broker_port: int = 19092
    services: tuple[ServiceSpec, ...] = SERVICES
    extra_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.broker: Any = None  # lfr_platform.messaging.broker.EmbeddedBroker when embedded
        self._logs: list[IO[bytes]] = []

    @property
    def bootstrap(self) -> str:
        return self.config.kafka_bootstrap or f"{self.config.host}:{self.config.broker_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.config.host}:{self.config.gateway_port}"

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        cfg = self.config
        env = dict(os.environ)
        env.update(
            {
                "LFR_ENVIRONMENT": env.get("LFR_ENVIRONMENT", "development"),
                "LFR_HTTP_HOST": cfg.host,
                "LFR_HTTP_PORT": str(spec.http_port),
                "LFR_GRPC_PORT": str(spec.grpc_port),
                "LFR_DATA_DIR": str(cfg.data_dir),
                "LFR_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
                "LFR_GRPC_TARGETS": json.dumps(grpc_targets(cfg.services, cfg.host)),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if cfg.kafka_bootstrap is None:  # the embedded tansu, on this machine
            # tansu holds a new consumer group's first join for half the session timeout (5 s with the
            # default 10 s); on one machine 3 s is safe, and every consumer is live sooner.
            env.setdefault("LFR_KAFKA__SESSION_TIMEOUT_MS", "3000")
            env.setdefault("LFR_KAFKA__HEARTBEAT_INTERVAL_MS", "1000")
        if cfg.database_url:
            env["LFR_DATABASE_URL"] = database_url_for(spec.name, cfg.database_url)
        env.update(cfg.extra_env)
        return env

    def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        log_dir = cfg.log_dir or cfg.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        if cfg.kafka_bootstrap is None:
            from lfr_platform.messaging.broker import EmbeddedBroker

            # The readiness probe of the broker retries while it boots; its connection refusals are
            # expected, not news for the person running `lfr up`.
            logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

            self.broker = EmbeddedBroker(host=cfg.host, port=cfg.broker_port, log_file=log_dir / "broker.log")
            _run_to_completion(self.broker.start())
        for spec in cfg.services:
            self.processes[spec.name] = self._spawn(
                [sys.executable, "-m", spec.module], self.service_env(spec), log_dir / f"{spec.name}.log"
            )
        gateway_env = dict(os.environ)
        gateway_env.update(
            {
                "LFR_DATA_DIR": str(cfg.data_dir),
                "LFR_GATEWAY_HOST": cfg.host,
                "LFR_GATEWAY_PORT": str(cfg.gateway_port),
                "LFR_GATEWAY_ROUTES": json.dumps(route_table(cfg.services, cfg.host)),
                "LFR_ENVIRONMENT": gateway_env.get("LFR_ENVIRONMENT", "development"),
            }
        )
        gateway_env.update(cfg.extra_env)
        self.processes["gateway"] = self._spawn(
            [sys.executable, "-m", "lfr_cli.gateway_main"], gateway_env, log_dir / "gateway.log"
        )

    def _spawn(self, argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
        log_file = log_path.open("ab")
        self._logs.append(log_file)
        # A new session per child: Ctrl-C in the terminal reaches `lfr up`, which stops the children in
        # order, instead of every process racing to die at once.
        return subprocess.Popen(
            argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(
        self, timeout: float = READY_TIMEOUT_S, stop: threading.Event | None = None
    ) -> dict[str, bool]:
        deadline = time.monotonic() + timeout
        ready = {spec.name: False for spec in self.config.services}
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline and not all(ready.values()):
                if stop is not None and stop.is_set():
                    break
                for spec in self.config.services:
                    if ready[spec.name]:
                        continue
                    proc = self.processes[spec.name]
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"service {spec.name} exited with code {proc.returncode}; see its log in "
                            f"{(self.config.log_dir or self.config.data_dir / 'logs') / (spec.name + '.log')}"
                        )
                    url = f"{self.gateway_url}/api/v1/{spec.prefixes[0]}/readyz"
                    try:
                        ready[spec.name] = client.get(url).status_code == 200
                    except httpx.HTTPError:
                        pass
                if not all(ready.values()):
                    time.sleep(0.25)
        return ready

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.broker is not None:
            _run_to_completion(self.broker.stop())
        for log_file in self._logs:
            log_file.close()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous code, also when the caller is itself inside an event loop (an async
    test that starts a Stack): then it runs on a short-lived thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def database_url_for(service: str, base_url: str) -> str:
    """One database per service on the server the base URL names (lfr_<service>)."""
    from lfr_platform.eventstore.database import database_url_for as derive

    return derive(service, base_url, Path("."))


@contextlib.contextmanager
def private_stack(data_dir: Path, timeout: float = READY_TIMEOUT_S) -> Iterator[Stack]:
    """A whole platform on free ports beside anything already running (benchmarks)."""
    from lfr_platform.messaging.broker import free_port

    from lfr_cli.topology import shifted

    offset = 30000 + (os.getpid() % 400) * 20
    config = StackConfig(
        data_dir=data_dir, gateway_port=free_port(), broker_port=free_port(), services=shifted(offset)
    )
    with Stack(config) as stack:
        not_ready = [name for name, ok in stack.wait_ready(timeout).items() if not ok]
        if not_ready:
            raise RuntimeError(f"not ready after {timeout:.0f}s: {', '.join(not_ready)} (logs in {data_dir})")
        yield stack
