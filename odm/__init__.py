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
from .hooks import hook
from .indexes import migrate
from .inference import build_model_from_instance
from .models import Entity, Model, model
from .operations import HookContext
from .properties import prop
from .repository import Repository
from .schema import get_json_schema
from .transactions import run_in_transaction, transaction

__all__ = [
    "ChangeEvent",
    "ConflictError",
    "DuplicateKeyError",
    "Entity",
    "EntityNotFoundError",
    "HookContext",
    "InvalidFilterError",
    "Model",
    "ModelDefinitionError",
    "ODMError",
    "Repository",
    "ValidationError",
    "build_model_from_instance",
    "connect",
    "define_model",
    "discover_model",
    "get_json_schema",
    "hook",
    "migrate",
    "model",
    "model_definition",
    "prop",
    "run_in_transaction",
    "transaction",
]
