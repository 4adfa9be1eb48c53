"""Bulk import and export of JSON lines through a repository (``python -m odm import`` /
``python -m odm export``).

Import validates every line through the repository's create path (``create_all``: strict
mode, enforced keywords, scope, forceId), writes in batches and accounts for every line:
each one is either stored or reported with its line number and reasons. Export streams
with ``iterate`` and writes each entity's ``to_json()``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from pymongo.errors import PyMongoError

from ..errors import DuplicateKeyError, ODMError, ValidationError
from ..repository import Repository

__all__ = [
    "ImportReport",
    "Progress",
    "Rejection",
    "count_lines",
    "export_entities",
    "import_lines",
]

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Rejection:
    """A line that was not stored, and why."""

    line: int
    reasons: list[str]

    def __str__(self) -> str:
        return f"line {self.line}: " + "; ".join(self.reasons)


@dataclass
class ImportReport:
    """What an import did: every non-blank line read is stored or rejected, unless the
    import stopped at a database failure (``stopped``), which says what is unknown."""

    read: int = 0
    stored: int = 0
    last_line: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and self.stopped is None


class Progress:
    """A progress bar (tqdm) on a terminal, plain lines otherwise; messages go to
    ``errors`` without breaking the bar."""

    def __init__(
        self,
        stream: IO[str],
        errors: IO[str],
        *,
        total: int | None,
        unit: str,
        bar: bool | None = None,
    ) -> None:
        self.stream = stream
        self.errors = errors
        self._bar: Any = None
        if bar if bar is not None else _is_terminal(stream):
            tqdm = _tqdm()
            if tqdm is not None:
                self._bar = tqdm(total=total, unit=unit, file=stream, dynamic_ncols=True)

    @property
    def is_bar(self) -> bool:
        return self._bar is not None

    def advance(self, count: int, status: str) -> None:
        """``count`` more units done; ``status`` is the plain line (or the bar's postfix)."""
        if self._bar is not None:
            self._bar.set_postfix_str(status, refresh=False)
            self._bar.update(count)
        else:
            print(status, file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.errors)
        else:
            print(text, file=self.errors, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _tqdm() -> Any:
    try:  # tqdm is optional (the dev extra has it): without it, plain lines
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None


def count_lines(path: str) -> int:
    """The number of lines of a file (for the progress bar's total)."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


# --- import ----------------------------------------------------------------------------------


def _parse(number: int, raw: bytes) -> tuple[dict[str, Any] | None, Rejection | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, Rejection(number, [f"not UTF-8 text: {error}"])
    if number == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return None, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return None, Rejection(number, [f"invalid JSON: {error}"])
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(value), "a number"
        )
        return None, Rejection(number, [f"expected a JSON object, got {kind}"])
    return value, None


def _batches(
    lines: Iterable[bytes], size: int, report: ImportReport
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Batches of (line number, object); bad lines are rejected on the way."""
    batch: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(lines, start=1):
        report.last_line = number
        data, rejection = _parse(number, raw)
        if rejection is not None:
            report.read += 1
            report.rejected.append(rejection)
        elif data is not None:
            report.read += 1
            batch.append((number, data))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _validation_reasons(error: ValidationError) -> dict[int, list[str]]:
    """The messages of a ``create_all`` error, by item position (paths start with it)."""
    reasons: dict[int, list[str]] = {}
    for detail in error.details:
        position = int(str(detail["path"]).split(".", 1)[0])
        reasons.setdefault(position, []).append(f"{detail['code']}: {detail['message']}")
    return reasons


def _duplicate_reason(repo: Repository[Any], error: DuplicateKeyError) -> str:
    names = ", ".join(error.properties) or "key"
    hidden = any(name in repo.meta.hidden for name in error.properties)
    value = "" if error.value is None or hidden else f" {error.value!r}"
    index = f"unique index {error.index!r}" if error.index else "a unique index"
    return f"duplicate {names}{value}: {index} refuses it"


async def _write_batch(
    repo: Repository[Any], batch: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> int:
    """Store the valid lines of ``batch``; returns how many were stored. Invalid lines are
    rejected before anything is written; a line the database refuses is rejected and the
    lines after it are written again."""
    first, last = batch[0][0], batch[-1][0]
    pending = batch
    stored = 0
    while pending:
        try:
            await repo.create_all([data for _, data in pending])
        except ValidationError as error:
            reasons = _validation_reasons(error)
            for position, messages in sorted(reasons.items()):
                report.rejected.append(Rejection(pending[position][0], messages))
            pending = [item for n, item in enumerate(pending) if n not in reasons]
            continue
        except DuplicateKeyError as error:
            if error.index_in_batch is None:
                raise
            failed = error.index_in_batch
            stored += failed
            report.stored += failed
            rejection = Rejection(
                pending[failed][0],
                [
                    f"not stored: {_duplicate_reason(repo, error)}; "
                    f"{stored} line(s) of its batch (lines {first}-{last}) stored so far, "
                    "the lines after it written next"
                ],
            )
            report.rejected.append(rejection)
            pending = pending[failed + 1 :]
            continue
        stored += len(pending)
        report.stored += len(pending)
        pending = []
    return stored


async def import_lines(
    repo: Repository[Any],
    lines: Iterable[bytes],
    *,
    progress: Progress,
    batch_size: int = DEFAULT_BATCH_SIZE,
    without_id: bool = False,
) -> ImportReport:
    """Import JSON lines (bytes, one object a line) into ``repo``, ``batch_size`` at a
    time with ``create_all``. ``without_id`` drops the id property of every line first
    (the entities get new ids; for files exported from a forceId model)."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    report = ImportReport()
    id_name = repo.meta.id.name if repo.meta.id is not None else None
    done = counted = 0  # lines and rejections accounted for in the progress

    def say_rejections() -> int:
        """Print the rejections not printed yet, in line order; returns how many."""
        new = sorted(report.rejected[counted:], key=lambda rejection: rejection.line)
        report.rejected[counted:] = new
        for rejection in new:
            progress.message(str(rejection))
        return len(new)

    for batch in _batches(lines, batch_size, report):
        if without_id and id_name is not None:
            for _, data in batch:
                data.pop(id_name, None)
        try:
            stored = await _write_batch(repo, batch, report)
        except (ODMError, PyMongoError) as error:
            report.stopped = (
                f"the database failed on the batch of lines {batch[0][0]}-{batch[-1][0]}: "
                f"{type(error).__name__}: {error}; {report.stored} line(s) are known to be stored, "
                "other lines of that batch may be stored too; the lines after it were not read"
            )
            say_rejections()
            break
        rejected = say_rejections()
        counted += rejected
        progress.advance(
            batch[-1][0] - done,
            f"lines {done + 1}-{batch[-1][0]}: {stored} stored, {rejected} rejected "
            f"(total {report.stored} stored, {len(report.rejected)} rejected)",
        )
        done = batch[-1][0]
    if report.stopped is None and report.last_line > done:  # bad or blank lines at the end
        rejected = say_rejections()
        if rejected or progress.is_bar:
            progress.advance(
                report.last_line - done,
                f"lines {done + 1}-{report.last_line}: 0 stored, {rejected} rejected "
                f"(total {report.stored} stored, {len(report.rejected)} rejected)",
            )
    return report


# --- export ----------------------------------------------------------------------------------


async def export_entities(
    repo: Repository[Any],
    out: IO[str],
    *,
    progress: Progress,
    filter: Mapping[str, Any] | None = None,
    include_hidden: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Stream the entities matching ``filter`` to ``out`` as JSON lines (``to_json()``:
    hidden properties left out unless ``include_hidden``); returns how many."""
    written = 0
    async for entity in repo.iterate(dict(filter) if filter else None, batch_size=batch_size):
        out.write(json.dumps(entity.to_json(include_hidden=include_hidden), ensure_ascii=False))
        out.write("\n")
        written += 1
        if progress.is_bar:
            progress.advance(1, f"{written} exported")
    return written
