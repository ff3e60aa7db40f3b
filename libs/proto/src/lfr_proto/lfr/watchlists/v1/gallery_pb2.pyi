from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetGalleryRequest(_message.Message):
    __slots__ = ("deployment_id",)
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    deployment_id: str
    def __init__(self, deployment_id: _Optional[str] = ...) -> None: ...

class GalleryEntry(_message.Message):
    __slots__ = ("entry_id", "template", "category")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    template: _containers.RepeatedScalarFieldContainer[float]
    category: str
    def __init__(self, entry_id: _Optional[str] = ..., template: _Optional[_Iterable[float]] = ..., category: _Optional[str] = ...) -> None: ...

class GalleryResponse(_message.Message):
    __slots__ = ("watchlist_id", "version", "frozen", "model_version", "entries")
    WATCHLIST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    watchlist_id: str
    version: int
    frozen: bool
    model_version: str
    entries: _containers.RepeatedCompositeFieldContainer[GalleryEntry]
    def __init__(self, watchlist_id: _Optional[str] = ..., version: _Optional[int] = ..., frozen: _Optional[bool] = ..., model_version: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[GalleryEntry, _Mapping]]] = ...) -> None: ...
