"""Every ``python`` block of README.md runs, in order, in one namespace, on every backend,
so the README cannot go stale."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def readme_blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_python_blocks() -> None:
    assert len(readme_blocks()) >= 8


async def test_readme_python_blocks_run(odm_db: Any, capsys: Any) -> None:
    namespace: dict[str, Any] = {"db": odm_db, "__name__": "readme"}
    for number, block in enumerate(readme_blocks(), start=1):
        code = compile(
            block,
            f"README.md python block {number}",
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,  # the README's code, not this module's __future__ imports
        )
        result = eval(code, namespace)  # the README's own code
        if inspect.iscoroutine(result):
            await result
    # the "testing your code" block defines a test: run it too
    await namespace["test_signup"](odm_db)
    printed = capsys.readouterr().out
    assert "['email', 'name']" in printed
    assert "['email'] email_1" in printed
    assert "['scope-conflict']" in printed and "['absence']" in printed
    assert "not found" in printed
