from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetDataKeyRequest(_message.Message):
    __slots__ = ("deployment_id", "data_class")
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    deployment_id: str
    data_class: str
    def __init__(self, deployment_id: _Optional[str] = ..., data_class: _Optional[str] = ...) -> None: ...

class DataKey(_message.Message):
    __slots__ = ("key_id", "key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    key: bytes
    def __init__(self, key_id: _Optional[str] = ..., key: _Optional[bytes] = ...) -> None: ...

class DestroyDataKeyRequest(_message.Message):
    __slots__ = ("deployment_id", "data_class", "actor", "role", "reason")
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deployment_id: str
    data_class: str
    actor: str
    role: str
    reason: str
    def __init__(self, deployment_id: _Optional[str] = ..., data_class: _Optional[str] = ..., actor: _Optional[str] = ..., role: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DestroyDataKeyResponse(_message.Message):
    __slots__ = ("destroyed", "key_id")
    DESTROYED_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    destroyed: bool
    key_id: str
    def __init__(self, destroyed: _Optional[bool] = ..., key_id: _Optional[str] = ...) -> None: ...
