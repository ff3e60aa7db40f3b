"""A message that cannot be parsed, or whose handler keeps failing, goes to `lfr.dlq.<consumer>.v1` with
its error; the consumer carries on with the next messages."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from lfr_platform.eventstore import UnitOfWork
from lfr_platform.messaging import DeadLetter, EventMessage

from tests.fixtures.waiting import wait_until

from ._pipeline import Pipeline, record_effect


async def test_malformed_and_poison_messages_are_dead_lettered_and_consumption_continues(
    pipeline: Pipeline,
) -> None:
    poison = await pipeline.append("stream-poison")
    producer = AIOKafkaProducer(**pipeline.kafka.producer_kwargs())
    await producer.start()
    try:  # a malformed message between good ones, on the same partition as the poison event
        await producer.send_and_wait(pipeline.topic, b'{"not": "an event"', key=b"stream-poison")
    finally:
        await producer.stop()
    good = [await pipeline.append("stream-poison") for _ in range(3)]
    good += [await pipeline.append(f"stream-{i}") for i in range(5)]
    await pipeline.relay()

    async def refuse_poison(uow: UnitOfWork, message: EventMessage) -> None:
        if message.event_id == poison.event_id:
            raise ValueError("cannot handle this one")
        await record_effect(uow, message)

    hooked: list[DeadLetter] = []

    async def on_dead_letter(letter: DeadLetter) -> None:
        hooked.append(letter)

    consumer = await pipeline.consumer(handler=refuse_poison, max_attempts=3, on_dead_letter=on_dead_letter)

    async def good_ones_effected() -> bool:
        return len(await pipeline.effects()) == len(good)

    await wait_until(good_ones_effected, what="the good messages after the bad ones")
    assert sorted(await pipeline.effects()) == sorted(str(e.event_id) for e in good)

    letters = await _read_all(pipeline, consumer.dead_letter_topic, expected=2)
    by_error = {headers["dlq.error"].split(":")[0]: (value, headers) for value, headers in letters}
    assert set(by_error) == {"ValidationError", "ValueError"}
    malformed_value, malformed_headers = by_error["ValidationError"]
    assert malformed_value == b'{"not": "an event"'
    assert malformed_headers["dlq.attempts"] == "0"
    poison_value, poison_headers = by_error["ValueError"]
    assert EventMessage.from_bytes(poison_value).event_id == poison.event_id
    assert poison_headers["dlq.error"] == "ValueError: cannot handle this one"
    assert poison_headers["dlq.attempts"] == "3"
    assert poison_headers["dlq.consumer"] == "effects"
    assert poison_headers["event_type"] == "ThingHappened"  # the original headers travel along
    assert consumer.dead_lettered == 2
    assert {letter.event_id for letter in hooked} == {None, str(poison.event_id)}
    assert consumer.dead_letter_topic == f"{pipeline.prefix}lfr.dlq.effects.v1"


async def _read_all(pipeline: Pipeline, topic: str, expected: int) -> list[tuple[bytes, dict[str, str]]]:
    reader = AIOKafkaConsumer(**pipeline.kafka.consumer_kwargs(group_id=None))
    await reader.start()
    found: list[tuple[bytes, dict[str, str]]] = []
    try:
        partitions = reader.partitions_for_topic(topic) or {0}
        reader.assign([TopicPartition(topic, p) for p in partitions])

        async def got_all() -> bool:
            batch = await reader.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    assert r.value is not None
                    found.append((r.value, {k: v.decode() for k, v in r.headers}))
            return len(found) >= expected

        await wait_until(got_all, what=f"{expected} dead letters")
    finally:
        await reader.stop()
    return found
