"""``python -m odm``: odm's command line.

::

    python -m odm --version
    python -m odm migrate shop.models --uri mongodb://localhost/shop
    python -m odm migrate shop.models:Customer,Order --uri "$MONGODB_URI" --drop-extra
    python -m odm import shop.models:Customer customers.jsonl --uri "$MONGODB_URI"
    python -m odm export shop.models:Customer --uri "$MONGODB_URI" -o customers.jsonl
    python -m odm discover customers --uri "$MONGODB_URI" --format python > models.py

``migrate`` imports each module, takes the entity classes it names (``module:Class``,
``module:A,B``) or all the entity classes defined in it (``module``), runs
``odm.migrate`` on the database of ``--uri`` (default: ``ODM_URI``, then
``MONGODB_URI``), prints a line per collection as it goes and the report as a table.
Exit code 0 on success (conflicts and extra indexes are reported, not errors), 1 on
an error, with the reason on stderr.

``import`` reads a JSON-lines file (one object a line), validates every line through the
repository's create path (strict mode, enforced keywords, scope, forceId) and writes in
batches with ``create_all``. Every line is either stored or reported on stderr with its
line number and reasons; exit code 1 when any line was rejected. ``export`` streams the
entities (``iterate``) to JSON lines, in ``to_json()`` shape, hidden properties left out
unless ``--include-hidden``. Both show a progress bar on a terminal.

``discover`` prints the model definition ``odm.discover_model`` infers from a sample of
a collection (``--sample N`` documents, default 1000), as JSON or, with
``--format python``, as an importable module of ``@model`` classes.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import IO, Any

from pymongo.errors import ConnectionFailure, PyMongoError

from .cli.discover import FORMATS, discover
from .cli.transfer import DEFAULT_BATCH_SIZE, Progress, count_lines, export_entities, import_lines
from .connection import connect
from .errors import ODMError
from .indexes import MigrationReport, format_reports, migrate
from .metadata import meta_of
from .repository import Repository

__all__ = ["entity_classes", "main"]


class UsageError(Exception):
    """A command line odm cannot run; the message says what to change."""


def version() -> str:
    """odm's version: ``odm.__version__``, else the installed distribution's."""
    import odm

    declared = getattr(odm, "__version__", None)
    if declared:
        return str(declared)
    for distribution in importlib.metadata.packages_distributions().get("odm", []):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown (not installed)"


class _Version(argparse.Action):
    """``--version``: looks the version up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"odm {version()}")
        parser.exit()


def _database_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--uri", help="the database URI (default: $ODM_URI, then $MONGODB_URI)")
    command.add_argument(
        "--driver", choices=("pymongo", "motor"), default="pymongo", help="the client to use"
    )


def _progress_options(command: argparse.ArgumentParser) -> None:
    shown = command.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        dest="bar",
        action="store_const",
        const=True,
        help="draw a progress bar even when the output is not a terminal",
    )
    shown.add_argument(
        "--no-progress",
        dest="bar",
        action="store_const",
        const=False,
        help="print plain progress lines even on a terminal",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m odm", description="odm's command line")
    parser.add_argument("--version", action=_Version, help="print odm's version and exit")
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
    _database_options(migrate_command)
    migrate_command.add_argument(
        "--drop-extra", action="store_true", help="drop indexes that are not declared"
    )
    migrate_command.add_argument(
        "--replace-conflicting",
        action="store_true",
        help="drop an index whose name or keys are declared with other options, and create it "
        "as declared",
    )

    import_command = commands.add_parser(
        "import",
        help="import a JSON-lines file into an entity's collection",
        description="Validate every line of a JSON-lines file through the model (strict mode, "
        "keywords, scope, forceId) and store the valid ones in batches; report each rejected "
        "line with its number and reasons. Exit code 1 when any line was rejected.",
    )
    import_command.add_argument("target", metavar="MODULE:Class", help="the entity class")
    import_command.add_argument("file", metavar="FILE", help="the JSON-lines file (- for stdin)")
    _database_options(import_command)
    import_command.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"lines written per create_all (default {DEFAULT_BATCH_SIZE})",
    )
    import_command.add_argument(
        "--without-id",
        action="store_true",
        help="drop the id of every line, so each entity gets a new one (to import a file "
        "exported from a model whose generated id callers may not set)",
    )
    _progress_options(import_command)

    export_command = commands.add_parser(
        "export",
        help="export an entity's collection to JSON lines",
        description="Stream the entities matching a filter to JSON lines, one to_json() object "
        "a line; hidden properties are left out unless --include-hidden.",
    )
    export_command.add_argument("target", metavar="MODULE:Class", help="the entity class")
    _database_options(export_command)
    export_command.add_argument(
        "--filter",
        metavar="JSON",
        help='a filter, as for find: \'{"where": {"status": "active"}, "order": "name ASC"}\'',
    )
    export_command.add_argument(
        "--include-hidden", action="store_true", help="include the hidden properties"
    )
    export_command.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (default: standard output)"
    )
    _progress_options(export_command)

    discover_command = commands.add_parser(
        "discover",
        help="print the model definition inferred from a collection's documents",
        description="Infer a model from a sample of a collection's documents and print it as "
        "a LoopBack model definition (JSON) or as a Python module of @model classes.",
    )
    discover_command.add_argument("collection", metavar="COLLECTION", help="the collection")
    _database_options(discover_command)
    discover_command.add_argument(
        "--sample", type=int, default=1000, help="how many documents to sample (default 1000)"
    )
    discover_command.add_argument(
        "--format", choices=FORMATS, default="json", help="JSON (default) or a Python module"
    )
    discover_command.add_argument(
        "--name", help="the model name (default: the collection's, PascalCase and singular)"
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


def _uri(args: argparse.Namespace) -> str:
    uri: str | None = args.uri or os.environ.get("ODM_URI") or os.environ.get("MONGODB_URI")
    if not uri:
        raise UsageError("no database: give --uri, or set ODM_URI or MONGODB_URI")
    return uri


def _entity_class(target: str) -> type[Any]:
    if ":" not in target:
        raise UsageError(f"{target!r}: name one entity class, as MODULE:Class")
    classes = entity_classes([target])
    if len(classes) != 1:
        raise UsageError(f"{target!r}: name one entity class, as MODULE:Class")
    return classes[0]


async def _import_file(args: argparse.Namespace, cls: type[Any], uri: str) -> int:
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    from_stdin = args.file == "-"
    try:
        total = None if from_stdin else count_lines(args.file)
        source = sys.stdin.buffer if from_stdin else open(args.file, "rb")  # noqa: SIM115
    except OSError as error:
        raise UsageError(f"cannot read {args.file!r}: {error.strerror or error}") from error
    async with connect(uri, driver=args.driver) as db:
        repo = Repository(cls, db)
        name = f"{repo.meta.collection} ({repo.meta.name})"
        progress = Progress(sys.stdout, sys.stderr, total=total, unit="line", bar=args.bar)
        try:
            report = await import_lines(
                repo,
                source,
                progress=progress,
                batch_size=args.batch_size,
                without_id=args.without_id,
            )
        finally:
            progress.close()
            if not from_stdin:
                source.close()
    print(
        f"imported {report.stored} of {report.read} line(s) into {name}: "
        f"{len(report.rejected)} rejected"
    )
    if report.stopped is not None:
        print(f"odm import: error: {report.stopped}", file=sys.stderr)
    return 0 if report.ok else 1


def _filter(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--filter is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise UsageError("--filter must be a JSON object, as for find()")
    return value


async def _export(args: argparse.Namespace, cls: type[Any], uri: str) -> int:
    filter = _filter(args.filter)
    async with connect(uri, driver=args.driver) as db:
        repo = Repository(cls, db)
        try:
            out: IO[str] = (
                open(args.output, "w", encoding="utf-8")  # noqa: SIM115
                if args.output
                else sys.stdout
            )
        except OSError as error:
            raise UsageError(f"cannot write {args.output!r}: {error.strerror or error}") from error
        progress = Progress(sys.stderr, sys.stderr, total=None, unit="entity", bar=args.bar)
        try:
            written = await export_entities(
                repo, out, progress=progress, filter=filter, include_hidden=args.include_hidden
            )
        finally:
            progress.close()
            if out is not sys.stdout:
                out.close()
    where = args.output or "standard output"
    print(f"exported {written} {repo.meta.name} entities to {where}", file=sys.stderr)
    return 0


def _reported(command: str, run: Callable[[], int]) -> int:
    """``run()``'s exit code; a database or usage error is one line on stderr and 1."""
    try:
        return run()
    except ConnectionFailure as error:
        print(f"odm {command}: error: cannot reach the database: {error}", file=sys.stderr)
    except (UsageError, ODMError, PyMongoError) as error:
        print(f"odm {command}: error: {error}", file=sys.stderr)
    return 1


def _discover(args: argparse.Namespace) -> int:
    text = asyncio.run(
        discover(
            _uri(args),
            args.collection,
            driver=args.driver,
            sample_size=args.sample,
            name=args.name,
            format=args.format,
        )
    )
    sys.stdout.write(text)
    return 0


def _transfer(args: argparse.Namespace) -> int:
    """``import`` and ``export``."""
    cls = _entity_class(args.target)
    uri = _uri(args)
    run = _import_file if args.command == "import" else _export
    return asyncio.run(run(args, cls, uri))


def _migrate_command(args: argparse.Namespace) -> int:
    classes = entity_classes(args.targets)
    uri = _uri(args)
    reports = asyncio.run(
        _migrate(
            classes,
            uri,
            driver=args.driver,
            drop_extra=args.drop_extra,
            replace_conflicting=args.replace_conflicting,
        )
    )
    print()
    print(format_reports(reports))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    commands = {"discover": _discover, "migrate": _migrate_command}
    command = commands.get(args.command, _transfer)
    return _reported(args.command, lambda: command(args))


if __name__ == "__main__":
    sys.exit(main())
