"""Kafka messaging: embedded broker, topics, outbox relay, tracked consumers, wire schema, tracing."""

from lfr_platform.messaging.broker import EmbeddedBroker, free_port, tansu_binary
from lfr_platform.messaging.consumer import DeadLetter, EventConsumer, RawConsumer, is_transient
from lfr_platform.messaging.relay import OutboxRelay
from lfr_platform.messaging.rotation import RotatingTopic, TopicRecycler
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import TopicSpec, dead_letter_topic, ensure_topics, topic_name
from lfr_platform.messaging.wire import EventMessage

__all__ = [
    "DeadLetter",
    "EmbeddedBroker",
    "EventConsumer",
    "EventMessage",
    "KafkaSettings",
    "OutboxRelay",
    "RawConsumer",
    "RotatingTopic",
    "TopicRecycler",
    "TopicSpec",
    "dead_letter_topic",
    "ensure_topics",
    "free_port",
    "is_transient",
    "tansu_binary",
    "topic_name",
]
