"""odm: an asynchronous MongoDB object-document mapper on pydantic v2.

Models describe data (``Model``, ``Entity``, ``@model``, ``prop``); a ``Repository``
adds collection-backed behaviour; ``connect`` opens a database. See README.md.
"""

__version__ = "0.1.0"

from .changes import ChangeEvent
from .connection import connect
from .definition_export import model_definition
from .definitions import define_model
from .discovery import discover_model
from .errors import (
    ConflictError,
    DuplicateKeyError,
    EntityNotFoundError,
    InvalidFilterError,
    ModelDefinitionError,
    ODMError,
    ValidationError,
)
from .geo import GeoPoint
from .hooks import hook
from .indexes import migrate
from .inference import build_model_from_instance
from .models import Entity, Model, model
from .operations import HookContext
from .properties import prop
from .relations import belongs_to, has_many, has_many_through, has_one, references_many
from .repository import Repository
from .schema import get_json_schema
from .transactions import run_in_transaction, transaction

__all__ = [
    "ChangeEvent",
    "ConflictError",
    "DuplicateKeyError",
    "Entity",
    "EntityNotFoundError",
    "GeoPoint",
    "HookContext",
    "InvalidFilterError",
    "Model",
    "ModelDefinitionError",
    "ODMError",
    "Repository",
    "ValidationError",
    "belongs_to",
    "build_model_from_instance",
    "connect",
    "define_model",
    "discover_model",
    "get_json_schema",
    "has_many",
    "has_many_through",
    "has_one",
    "hook",
    "migrate",
    "model",
    "model_definition",
    "prop",
    "references_many",
    "run_in_transaction",
    "transaction",
]
