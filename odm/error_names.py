"""How the driver seam names a model's properties in its errors (``odm.drivers``)."""

from __future__ import annotations

from .hidden import path_is_hidden
from .metadata import ModelMeta

__all__ = ["ErrorNames"]


class ErrorNames:
    """How the driver seam names a model's properties in its errors: property paths for
    stored field paths, and hidden properties' values kept out (errors end up in logs)."""

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.name = meta.name

    def property_path(self, field_path: str) -> str:
        return self.meta.property_path(field_path)

    def hides(self, property_path: str) -> bool:
        return path_is_hidden(self.meta, property_path)
