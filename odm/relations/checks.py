"""Relations checked as soon as their classes are complete.

Each Entity class with relations is checked when it is compiled; one naming a class not
defined yet waits, and is checked again whenever another model class is created (the new
class, and every class created since, completing the names its annotations and
``through`` are looked up in). The check that finds every class raises the
mis-declaration (``ModelDefinitionError``) from the creation of the last class, where the
classes are written. Nothing is kept: relations are resolved for use at first use, with
the classes' final settings.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from ..metadata import ModelMeta, meta_of
from .metadata import Waiting, resolve_all

__all__ = ["check_relations"]

#: the classes whose relations wait for a class -> the classes created since, by name
_waiting: WeakKeyDictionary[type[Any], dict[str, type[Any]]] = WeakKeyDictionary()
_checking: list[type[Any]] = []


def check_relations(cls: type[Any]) -> None:
    """Check the relations of ``cls`` and of the classes waiting for one (``cls`` may be
    it); ``ModelDefinitionError`` for a mis-declaration whose classes all exist."""
    if _checking:  # a check's own rebuild of a class compiles it again
        return
    meta = meta_of(cls)
    if meta is not None and meta.relations:
        _waiting.setdefault(cls, {})
    for waiting, names in list(_waiting.items()):
        names[cls.__name__] = cls
        _check(waiting, names)


def _check(cls: type[Any], names: dict[str, type[Any]]) -> None:
    meta: ModelMeta | None = meta_of(cls)
    if meta is None or not meta.relations:
        _waiting.pop(cls, None)
        return
    _checking.append(cls)
    try:
        resolve_all(meta, names)
    except Waiting:
        return
    except BaseException:
        _waiting.pop(cls, None)
        raise
    finally:
        _checking.pop()
    _waiting.pop(cls, None)
