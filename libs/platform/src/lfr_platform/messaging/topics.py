"""Topic names (`lfr.<context>.<name>.v<N>`) and idempotent, verified topic creation."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

_PART = re.compile(r"^[a-z][a-z0-9_-]*$")


def topic_name(context: str, name: str, version: int = 1, prefix: str = "") -> str:
    """`lfr.<context>.<name>.v<N>`; `prefix` isolates test runs on a shared broker."""
    for part in (context, name):
        if not _PART.match(part):
            raise ValueError(f"topic part {part!r} must be lower-case letters, digits, '-' or '_'")
    if version < 1:
        raise ValueError("topic version starts at 1")
    return f"{prefix}lfr.{context}.{name}.v{version}"


def dead_letter_topic(consumer: str, prefix: str = "") -> str:
    return topic_name("dlq", consumer, 1, prefix)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


class TopicConfigMismatch(RuntimeError):
    pass


async def ensure_topics(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    """Create missing topics with their configs; verify the configs of all of them.

    "Already exists" is fine (another service or a previous run made it), but a topic whose configs
    differ from the spec is an error: e.g. a frames topic without its short retention."""
    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    if missing:
        new_topics = [
            NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs) for s in missing
        ]
        try:
            response = await admin.create_topics(new_topics)
        except TopicAlreadyExistsError:
            response = None
        for topic, code, *_ in getattr(response, "topic_errors", None) or []:
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"creating topic {topic} failed with Kafka error {code}")
    await verify_topic_configs(admin, [s for s in specs if s.configs])


async def verify_topic_configs(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    if not specs:
        return
    resources = [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs]
    responses = await admin.describe_configs(resources)
    actual: dict[str, dict[str, str]] = {}
    for response in responses:
        for _code, _message, _type, name, entries, *_ in response.resources:
            actual[name] = {entry[0]: entry[1] for entry in entries}
    for spec in specs:
        for key, wanted in spec.configs.items():
            got = actual.get(spec.name, {}).get(key)
            if got != wanted:
                raise TopicConfigMismatch(f"topic {spec.name}: {key}={got!r}, expected {wanted!r}")
