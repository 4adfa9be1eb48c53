"""``python -m odm``: odm's command line.

::

    python -m odm migrate shop.models --uri mongodb://localhost/shop
    python -m odm migrate shop.models:Customer,Order --uri "$MONGODB_URI" --drop-extra

``migrate`` imports each module, takes the entity classes it names (``module:Class``,
``module:A,B``) or all the entity classes defined in it (``module``), runs
``odm.migrate`` on the database of ``--uri`` (default: ``ODM_URI``, then
``MONGODB_URI``), prints a line per collection as it goes and the report as a table.
Exit code 0 on success (conflicts and extra indexes are reported, not errors), 1 on
an error, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from pymongo.errors import ConnectionFailure, PyMongoError

from .connection import connect
from .errors import ODMError
from .indexes import MigrationReport, format_reports, migrate
from .metadata import meta_of
from .repository import Repository

__all__ = ["entity_classes", "main"]


class UsageError(Exception):
    """A command line odm cannot run; the message says what to change."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m odm", description="odm's command line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate_command = commands.add_parser(
        "migrate",
        help="create the declared indexes of entity classes",
        description="Create the indexes that entity classes declare and are missing in the "
        "database; report existing, extra and conflicting indexes.",
    )
    migrate_command.add_argument(
        "targets",
        nargs="+",
        metavar="MODULE[:Class[,Class...]]",
        help="a module (all the entity classes defined in it) or some of its classes",
    )
    migrate_command.add_argument(
        "--uri", help="the database URI (default: $ODM_URI, then $MONGODB_URI)"
    )
    migrate_command.add_argument(
        "--driver", choices=("pymongo", "motor"), default="pymongo", help="the client to use"
    )
    migrate_command.add_argument(
        "--drop-extra", action="store_true", help="drop indexes that are not declared"
    )
    migrate_command.add_argument(
        "--replace-conflicting",
        action="store_true",
        help="drop an index whose name or keys are declared with other options, and create it "
        "as declared",
    )
    return parser


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name + ".").startswith(error.name + "."):
            raise UsageError(
                f"cannot import module {module_name!r}: {error}; check the name and that its "
                "directory is on PYTHONPATH (or run from it)"
            ) from error
        raise UsageError(f"importing module {module_name!r} failed: {error}") from error
    except Exception as error:  # the module's own code failed: say which module
        raise UsageError(
            f"importing module {module_name!r} failed: {type(error).__name__}: {error}"
        ) from error


def _is_entity_class(value: Any) -> bool:
    if not isinstance(value, type):
        return False
    meta = meta_of(value)
    return meta is not None and meta.is_entity and meta.id is not None


def entity_classes(targets: Sequence[str]) -> list[type[Any]]:
    """The entity classes named by ``module`` or ``module:Class[,Class...]`` targets.

    A bare module gives the entity classes defined in it or in its submodules (not the
    ones it imports from elsewhere), in their order in the module.
    """
    found: dict[type[Any], None] = {}
    for target in targets:
        module_name, _, class_names = target.partition(":")
        if not module_name:
            raise UsageError(f"{target!r}: give a module, as MODULE or MODULE:Class")
        module = _import(module_name)
        if class_names:
            for class_name in filter(None, (name.strip() for name in class_names.split(","))):
                value = getattr(module, class_name, None)
                if value is None:
                    raise UsageError(f"module {module_name!r} has no class {class_name!r}")
                if not _is_entity_class(value):
                    raise UsageError(
                        f"{module_name}:{class_name} is not an odm Entity class; "
                        "only entities (odm.Entity subclasses) have a collection to migrate"
                    )
                found[value] = None
            continue
        defined = [
            value
            for value in vars(module).values()
            if _is_entity_class(value)
            and (value.__module__ == module_name or value.__module__.startswith(module_name + "."))
        ]
        if not defined:
            raise UsageError(f"module {module_name!r} defines no odm Entity classes")
        found.update(dict.fromkeys(defined))
    return list(found)


async def _migrate(
    classes: Sequence[type[Any]],
    uri: str,
    *,
    driver: str,
    drop_extra: bool,
    replace_conflicting: bool,
) -> list[MigrationReport]:
    async with connect(uri, driver=driver) as db:
        repositories = [Repository(cls, db) for cls in classes]
        total = len({repo.meta.collection for repo in repositories})
        done = 0

        def progress(report: MigrationReport) -> None:
            nonlocal done
            done += 1
            print(
                f"[{done}/{total}] {report.collection} ({report.model}): {report.summary()}",
                flush=True,
            )

        print(f"migrating {total} collection(s) on database {repositories[0].database.name!r}")
        return await migrate(
            repositories,
            drop_extra=drop_extra,
            replace_conflicting=replace_conflicting,
            on_report=progress,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        classes = entity_classes(args.targets)
        uri = args.uri or os.environ.get("ODM_URI") or os.environ.get("MONGODB_URI")
        if not uri:
            raise UsageError("no database: give --uri, or set ODM_URI or MONGODB_URI")
        reports = asyncio.run(
            _migrate(
                classes,
                uri,
                driver=args.driver,
                drop_extra=args.drop_extra,
                replace_conflicting=args.replace_conflicting,
            )
        )
    except ConnectionFailure as error:
        print(f"odm migrate: error: cannot reach the database: {error}", file=sys.stderr)
        return 1
    except (UsageError, ODMError, PyMongoError) as error:
        print(f"odm migrate: error: {error}", file=sys.stderr)
        return 1
    print()
    print(format_reports(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
