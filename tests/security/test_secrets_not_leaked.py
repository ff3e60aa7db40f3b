"""Secrets never leave a service: a database password and a Kafka SASL password given in settings appear
in no log line (DEBUG, every library), no /readyz answer and no error response, even while both
dependencies are unreachable and every component that holds them reports failures."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from pathlib import Path

import pytest
import structlog
from lfr_platform.telemetry import configure_logging

from tests.security._asgi import request
from tests.security.conftest import SERVICES, build_runtime

DB_PASSWORD = "Db-Pa55word-7f3a91"
KAFKA_PASSWORD = "Sasl-Pa55word-c41e08"
MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of bytes 0..31


@contextlib.contextmanager
def captured_logs(service: str) -> io.StringIO:  # type: ignore[misc]
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(service, "DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()


async def _until(predicate, within: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("name", SERVICES)
async def test_database_and_kafka_passwords_appear_nowhere(name: str, tmp_path: Path) -> None:
    overrides = {
        # Port 1 on loopback: nothing listens, so connections fail at once and every failure path runs.
        "database_url": f"postgresql+asyncpg://lfr_{name}:{DB_PASSWORD}@127.0.0.1:1/lfr_{name}",
        "master_key": MASTER_KEY,
        "kafka": {
            "bootstrap_servers": "127.0.0.1:1",
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": f"lfr-{name}",
            "sasl_password": KAFKA_PASSWORD,
        },
    }
    with captured_logs(name) as logs:
        runtime, settings = build_runtime(name, tmp_path, **overrides)
        assert DB_PASSWORD in settings.resolved_database_url  # the secrets really are in use
        assert settings.kafka.common_kwargs()["sasl_plain_password"] == KAFKA_PASSWORD
        answers: list[str] = [repr(settings), str(settings.model_dump()), settings.model_dump_json()]
        # The database: the start hook (migrations) fails; its exception is what `serve` would log.
        start = runtime.on_start[0]
        with pytest.raises(Exception) as failed:  # noqa: PT011 (any failure; we check what it says)
            await asyncio.wait_for(start(), 30)
        answers += [str(failed.value), repr(failed.value)]
        logging.getLogger("lfr.test").exception("start failed", exc_info=failed.value)
        # Kafka: the messaging task retries and logs while the broker is unreachable.
        messaging = asyncio.create_task(runtime.background[0]())
        try:
            await _until(lambda: "kafka producer cannot start yet" in logs.getvalue())
        finally:
            messaging.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await messaging
        for path, headers in [
            ("/readyz", {}),
            ("/healthz", {}),
            ("/api/v1/no-such-route", {}),
            ("/metrics", {}),
        ]:
            reply = await request(runtime.app, "GET", path, headers=headers)
            answers.append(reply.body.decode("utf-8", "replace"))
        protected = [
            r for r in runtime.app.openapi()["paths"] if not r.endswith(("healthz", "readyz", "metrics"))
        ]
        for path in protected[:3]:
            reply = await request(runtime.app, "GET", path, headers={"Authorization": "Bearer nonsense"})
            answers.append(reply.body.decode("utf-8", "replace"))
        for hook in runtime.on_stop:
            with contextlib.suppress(Exception):
                await hook()
    ready = next(a for a in answers if "not_ready" in a)
    assert "database" in ready  # the readiness answer did report the failure it must not detail
    assert "kafka producer cannot start yet" in logs.getvalue()
    everything = logs.getvalue() + "\n".join(answers)
    for secret in (DB_PASSWORD, KAFKA_PASSWORD, MASTER_KEY):
        assert secret not in everything, f"{name}: a secret leaked"
