"""The per-class functions the codec generates, as dataclasses generate ``__init__``:
one dict display per model with the converters bound as names, the shortest path Python
has between an instance's ``__dict__`` and a document (the encoder of :mod:`odm.codec`,
the trusted loader of :mod:`odm.decoding`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compiling", "entry", "generate"]

Convert = Callable[[Any], Any]

#: The classes whose function is being generated (a model embedding itself resolves its
#: own function on the first call).
compiling: set[type] = set()


def generate(name: str, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Compile ``source`` defining ``name`` in ``namespace`` and return the function."""
    exec(compile(source, f"<odm {name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def entry(key: str, source: str, convert: Convert | None, index: int, names: dict[str, Any]) -> str:
    """One ``key: value`` item of a generated dict display: ``source`` as it is, or
    converted by ``convert`` (bound as ``c<index>``) when it is not None."""
    if convert is None:
        return f"{key!r}: {source}"
    names[f"c{index}"] = convert
    return f"{key!r}: (c{index}(v) if (v := {source}) is not None else None)"
