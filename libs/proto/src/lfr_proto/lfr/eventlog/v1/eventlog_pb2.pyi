from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReadEventsRequest(_message.Message):
    __slots__ = ("after_position", "limit")
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    limit: int
    def __init__(self, after_position: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("position", "event_id", "stream_id", "stream_type", "version", "event_type", "schema_version", "data_json", "metadata_json", "occurred_at", "recorded_at")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    position: int
    event_id: str
    stream_id: str
    stream_type: str
    version: int
    event_type: str
    schema_version: int
    data_json: str
    metadata_json: str
    occurred_at: str
    recorded_at: str
    def __init__(self, position: _Optional[int] = ..., event_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., stream_type: _Optional[str] = ..., version: _Optional[int] = ..., event_type: _Optional[str] = ..., schema_version: _Optional[int] = ..., data_json: _Optional[str] = ..., metadata_json: _Optional[str] = ..., occurred_at: _Optional[str] = ..., recorded_at: _Optional[str] = ...) -> None: ...

class ReadEventsResponse(_message.Message):
    __slots__ = ("service", "events", "last_position")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    service: str
    events: _containers.RepeatedCompositeFieldContainer[Event]
    last_position: int
    def __init__(self, service: _Optional[str] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., last_position: _Optional[int] = ...) -> None: ...
