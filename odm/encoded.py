"""Documents sent as the BSON they were checked as: one encoding per inserted document.

Validation encodes every document it accepts with the BSON encoder (what MongoDB can
store, and the 16 MiB limit, checked before any I/O). :class:`EncodedDocument` is that
document, a ``dict``, keeping those bytes. An insert on a server driver (pymongo's
``AsyncMongoClient``, motor) then sends the bytes themselves as a
``bson.RawBSONDocument``, so the driver does not encode the document a second time;
mongomock, which cannot take raw documents, gets the dict. Any change to the dict (a
``persist`` hook's, say) drops the bytes, and the dict is encoded by the driver as usual.

Every inserted document gets its ``_id`` before it is sent (``ensure_id``), so the ids of
the documents stored before a failure are known the same way on every driver; for a
document whose bytes were kept, the generated ``_id`` is written in front of them, where
the driver's encoder puts ``_id`` too.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.codec_options import CodecOptions, TypeRegistry
from bson.raw_bson import RawBSONDocument

__all__ = ["EncodedDocument", "encodes_like_odm", "ensure_id", "sendable"]

_EMPTY_REGISTRY = TypeRegistry()
_ID_ELEMENT = b"\x07_id\x00"  # an ObjectId element named _id, before its 12 bytes


class EncodedDocument(dict[str, Any]):
    """A document and the BSON bytes it was encoded as (``bson``; None once the dict
    changed after encoding)."""

    __slots__ = ("bson",)

    def __init__(self, document: dict[str, Any], bson: bytes) -> None:
        super().__init__(document)
        self.bson: bytes | None = bson

    def __setitem__(self, key: str, value: Any) -> None:
        self.bson = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.bson = None
        super().__delitem__(key)

    def __ior__(self, other: Any) -> EncodedDocument:  # type: ignore[misc,override]
        self.bson = None
        super().__ior__(other)
        return self

    def pop(self, *args: Any) -> Any:
        self.bson = None
        return super().pop(*args)

    def popitem(self) -> tuple[str, Any]:
        self.bson = None
        return super().popitem()

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.bson = None
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.bson = None
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self.bson = None
        super().clear()

    def __reduce__(self) -> Any:  # copies and pickles are plain dicts
        return (dict, (dict(self),))


def ensure_id(doc: dict[str, Any]) -> None:
    """Give ``doc`` a generated ``_id`` when it has none (its kept bytes too)."""
    if "_id" in doc:
        return
    oid = ObjectId()
    if type(doc) is EncodedDocument and doc.bson is not None:
        data = doc.bson
        size = len(data) + len(_ID_ELEMENT) + 12
        kept = size.to_bytes(4, "little") + _ID_ELEMENT + oid.binary + data[4:]
        dict.__setitem__(doc, "_id", oid)
        doc.bson = kept
    else:
        doc["_id"] = oid


def encodes_like_odm(options: CodecOptions[Any]) -> bool:
    """Whether a driver with these codec options encodes odm's documents to the bytes
    odm's check produced (no custom type encoders: the rest of the options only change
    decoding, or values odm's documents never hold, such as a native UUID)."""
    return bool(options.type_registry == _EMPTY_REGISTRY)


def sendable(doc: dict[str, Any], raw: bool) -> Any:
    """``doc`` with its ``_id``, as it goes to the driver: its kept bytes as a
    ``RawBSONDocument`` when ``raw`` (a server driver encoding like odm), else the dict."""
    ensure_id(doc)
    if raw and type(doc) is EncodedDocument and doc.bson is not None:
        return RawBSONDocument(doc.bson)
    return doc
