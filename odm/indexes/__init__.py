"""Declared indexes, the existing ones, and the migration that reconciles them.

- ``specs``: :class:`IndexSpec` and how the server compares two indexes;
- ``declaration``: a model's declarations compiled into specs (:func:`declared_indexes`);
- ``planning``: declared against existing, a pure :func:`diff` into an :class:`IndexPlan`;
- ``migration``: :func:`migrate` and friends carry a plan out and return a
  :class:`MigrationReport`.

>>> report = await customers.migrate()
>>> report.created, report.existing, report.extra, report.conflicting
(['email_1', 'city_created'], [], [], [])
>>> (await customers.migrate()).existing
['email_1', 'city_created']
"""

from .declaration import DIRECTIONS, OPTION_NAMES, declared_indexes, merge_declarations
from .migration import (
    Migratable,
    MigrationReport,
    automigrate_repository,
    format_reports,
    migrate,
    migrate_collection,
    migrate_repository,
)
from .planning import IndexConflict, IndexMatch, IndexPlan, diff
from .specs import IndexSpec

__all__ = [
    "DIRECTIONS",
    "OPTION_NAMES",
    "IndexConflict",
    "IndexMatch",
    "IndexPlan",
    "IndexSpec",
    "Migratable",
    "MigrationReport",
    "automigrate_repository",
    "declared_indexes",
    "diff",
    "format_reports",
    "merge_declarations",
    "migrate",
    "migrate_collection",
    "migrate_repository",
]
