"""The migration: read the existing indexes, create the missing ones, report.

It drops nothing unless asked (``drop_extra``, ``replace_conflicting``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pymongo.errors import PyMongoError

from odm.drivers import Collection, Database
from odm.errors import ODMError
from odm.metadata import ModelMeta

from .declaration import declared_indexes, merge_declarations
from .planning import diff
from .specs import IndexSpec

__all__ = [
    "Migratable",
    "MigrationReport",
    "automigrate_repository",
    "format_reports",
    "migrate",
    "migrate_collection",
    "migrate_repository",
]


_log = logging.getLogger("odm.indexes")


class Migratable(Protocol):
    """What a migration needs of a repository: its model and its database."""

    @property
    def meta(self) -> ModelMeta: ...

    @property
    def database(self) -> Database: ...


@dataclass
class MigrationReport:
    """What a migration found and did on one collection.

    ``created``, ``existing`` and ``conflicting`` hold declared index names; ``extra``
    (in the database, not declared) and ``dropped`` hold the database's names. An index
    replaced with ``replace_conflicting=True`` is in ``conflicting``, ``dropped`` and
    ``created``. ``notes`` explains some names: what a conflict is, the database's name
    of an index declared under another one, the keys of an extra index.
    """

    collection: str
    model: str = ""
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the migration created or dropped an index."""
        return bool(self.created or self.dropped)

    def summary(self) -> str:
        """``2 created, 1 existing, 0 extra, 0 conflicting`` (and dropped when any)."""
        counts = [
            f"{len(self.created)} created",
            f"{len(self.existing)} existing",
            f"{len(self.extra)} extra",
            f"{len(self.conflicting)} conflicting",
        ]
        if self.dropped:
            counts.append(f"{len(self.dropped)} dropped")
        return ", ".join(counts)

    def rows(self) -> list[tuple[str, str, str]]:
        """One ``(index, status, note)`` per index: created, existing, conflicting,
        replaced (a conflict dropped and created again), extra or dropped (an extra index)."""
        rows: list[tuple[str, str, str]] = []
        for name in self.conflicting:
            status = "replaced" if name in self.created else "conflicting"
            rows.append((name, status, self.notes.get(name, "")))
        for name in self.created:
            if name not in self.conflicting:
                rows.append((name, "created", self.notes.get(name, "")))
        rows.extend((name, "existing", self.notes.get(name, "")) for name in self.existing)
        for name in self.extra:
            status = "dropped" if name in self.dropped else "extra"
            rows.append((name, status, self.notes.get(name, "")))
        return sorted(rows, key=lambda row: _STATUS_ORDER.index(row[1]))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return format_reports([self])


_STATUS_ORDER = ("created", "replaced", "conflicting", "existing", "extra", "dropped")


def format_reports(reports: Sequence[MigrationReport]) -> str:
    """The reports as one text table: collection, model, index, status, details."""
    header = ("collection", "model", "index", "status", "details")
    table: list[tuple[str, ...]] = []
    for report in reports:
        rows = report.rows() or [("-", "no indexes", "")]
        table.extend((report.collection, report.model, *row) for row in rows)
    widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header) - 1)]

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        return "  ".join([*cells, row[-1]]).rstrip()

    rule = "  ".join("-" * width for width in [*widths, len(header[-1])])
    return "\n".join([line(header), rule, *(line(row) for row in table)])


async def migrate_collection(
    collection: Collection,
    declared: Sequence[IndexSpec],
    *,
    model: str = "",
    drop_extra: bool = False,
    replace_conflicting: bool = False,
) -> MigrationReport:
    """Reconcile one collection with ``declared``; see :func:`migrate_repository`."""
    await collection.create()
    plan = diff(declared, await collection.index_information())
    report = MigrationReport(collection=collection.name, model=model)
    for match in plan.existing:
        report.existing.append(match.declared.name)
        if match.found.name != match.declared.name:
            report.notes[match.declared.name] = f"exists as {match.found.name!r}"
    for conflict in plan.conflicting:
        report.conflicting.append(conflict.declared.name)
        report.notes[conflict.declared.name] = conflict.reason
    for spec in plan.extra:
        report.extra.append(spec.name)
        report.notes[spec.name] = spec.describe()
    to_drop = [spec.name for spec in plan.extra] if drop_extra else []
    to_create = list(plan.create)
    if replace_conflicting:
        to_drop.extend(conflict.found.name for conflict in plan.conflicting)
        to_create.extend(conflict.declared for conflict in plan.conflicting)
    for name in to_drop:
        await _index_call(collection, report, name, "drop", collection.drop_index(name))
        report.dropped.append(name)
        _log.info("migrate %s: dropped index %s", collection.name, name)
    for spec in to_create:
        keys, options = spec.create_arguments()
        await _index_call(
            collection, report, spec.name, "create", collection.create_index(keys, **options)
        )
        report.created.append(spec.name)
        report.notes.setdefault(spec.name, spec.describe())
        _log.info("migrate %s: created index %s (%s)", collection.name, spec.name, spec.describe())
    for match in plan.existing:
        report.notes.setdefault(match.declared.name, match.declared.describe())
    level = logging.WARNING if report.conflicting and not replace_conflicting else logging.INFO
    _log.log(
        level, "migrate %s%s: %s", collection.name, f" ({model})" if model else "", report.summary()
    )
    return report


async def _index_call(
    collection: Collection, report: MigrationReport, name: str, verb: str, call: Any
) -> None:
    try:
        await call
    except PyMongoError as error:
        done = f"; done before it: {report.summary()}" if report.changed else ""
        raise ODMError(
            f"cannot {verb} index {name!r} on collection {collection.name!r}"
            f"{f' ({report.model})' if report.model else ''}: {error}{done}"
        ) from error


async def migrate_repository(
    repo: Migratable, *, drop_extra: bool = False, replace_conflicting: bool = False
) -> MigrationReport:
    """Create the repository's declared indexes that are missing; report the rest.

    Nothing is dropped unless ``drop_extra`` (indexes not declared) or
    ``replace_conflicting`` (an index with a declared name or keys but other options is
    dropped and created as declared). Running it twice creates nothing the second time.
    A failed create or drop raises ``ODMError`` naming the index and the server's reason.
    """
    return await migrate_collection(
        _collection_of(repo),
        declared_indexes(repo.meta),
        model=repo.meta.name,
        drop_extra=drop_extra,
        replace_conflicting=replace_conflicting,
    )


async def automigrate_repository(repo: Migratable) -> MigrationReport:
    """Drop the collection (all its data), create it again with the declared indexes."""
    collection = _collection_of(repo)
    await collection.drop()
    return await migrate_collection(collection, declared_indexes(repo.meta), model=repo.meta.name)


async def migrate(
    repositories: Iterable[Migratable],
    *,
    drop_extra: bool = False,
    replace_conflicting: bool = False,
    on_report: Callable[[MigrationReport], None] | None = None,
) -> list[MigrationReport]:
    """Migrate several repositories, one collection after the other; one report each.

    Repositories of one collection (entity classes sharing it) are migrated together
    with the union of their declarations, so none sees the others' indexes as extra.
    ``on_report`` is called with each report as soon as it is ready (progress output).

    >>> for report in await odm.migrate([customers, orders]):
    ...     print(report.collection, report.summary())
    """
    groups: list[tuple[Collection, list[Migratable]]] = []
    for repo in repositories:
        collection = _collection_of(repo)
        for known, members in groups:
            if known.name == collection.name and _same_database(known, collection):
                members.append(repo)
                break
        else:
            groups.append((collection, [repo]))
    reports: list[MigrationReport] = []
    for collection, members in groups:
        names = ", ".join(dict.fromkeys(member.meta.name for member in members))
        declared = merge_declarations(
            (spec for member in members for spec in declared_indexes(member.meta)),
            owner=f"collection {collection.name!r} ({names})",
        )
        report = await migrate_collection(
            collection,
            declared,
            model=names,
            drop_extra=drop_extra,
            replace_conflicting=replace_conflicting,
        )
        reports.append(report)
        if on_report is not None:
            on_report(report)
    return reports


def _collection_of(repo: Migratable) -> Collection:
    return repo.database.collection(repo.meta.collection)


def _same_database(one: Collection, other: Collection) -> bool:
    return one.database.same_database(other.database)
