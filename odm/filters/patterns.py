"""Text patterns in filters: LoopBack's SQL-style ``like`` and ``regexp``.

``like`` patterns are translated so no regex engine can backtrack catastrophically on
them (the mock's Python ``re`` and the server's PCRE alike): runs of ``%`` collapse to
one, a pattern is at most :data:`MAX_LIKE_LENGTH` characters with at most
:data:`MAX_LIKE_WILDCARDS` ``%`` runs, and every ``%`` but the last becomes an atomic
lazy group ``(?>.*?segment)``: the segment after it is matched at its first occurrence
and never retried. That is exact for ``like`` (segments have fixed lengths, so the
earliest occurrence is always the best), and it makes matching linear in the value's
length times the pattern's.

``regexp`` is a regular expression as given: its cost on the server is the caller's
pattern's (see SECURITY.md); a repository made with ``allow_regexp=False`` refuses it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..errors import InvalidFilterError
from .values import _check_text, _show

__all__ = ["MAX_LIKE_LENGTH", "MAX_LIKE_WILDCARDS", "like_to_regex"]

#: The longest ``like`` pattern accepted (characters).
MAX_LIKE_LENGTH = 1024
#: The most runs of ``%`` a ``like`` pattern may have (after runs collapse).
MAX_LIKE_WILDCARDS = 32

# A token of a LoopBack like pattern: an escaped character, a run of %, _, a lone final
# backslash, or a run of plain text.
_LIKE_TOKEN = re.compile(r"\\(.)|(%+)|(_)|(\\)|([^\\%_]+)", re.DOTALL)
_REGEX_LITERAL = re.compile(r"/(.*)/([A-Za-z]*)", re.DOTALL)
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@lru_cache(maxsize=1024)
def like_to_regex(pattern: str) -> str:
    r"""The anchored regular expression of an SQL ``like`` pattern.

    ``%`` is any run of characters, ``_`` one character, a backslash makes the next
    character literal; everything else is literal (regex metacharacters escaped). Every
    ``%`` but the last is an atomic lazy group, so matching never backtracks into it.

    >>> like_to_regex("J_e 100\\%.%")
    '^J.e\\ 100%\\..*$'
    >>> like_to_regex("%a%b")
    '^(?>.*?a).*b$'
    """
    # Segments between runs of %: each a list of regex pieces of fixed length.
    segments: list[list[str]] = [[]]
    for match in _LIKE_TOKEN.finditer(pattern):
        escaped, any_run, one, lone_backslash, text = match.groups()
        if any_run is not None:
            segments.append([])
        elif escaped is not None:
            segments[-1].append(re.escape(escaped))
        elif one is not None:
            segments[-1].append(".")
        elif lone_backslash is not None:
            segments[-1].append(r"\\")
        else:
            segments[-1].append(re.escape(text))
    first, *middle = ("".join(pieces) for pieces in segments)
    if not middle:
        return f"^{first}$"
    *inner, last = middle
    groups = "".join(f"(?>.*?{segment})" for segment in inner if segment)
    return f"^{first}{groups}.*{last}$"


def like_condition(value: Any, path: str, *, negate: bool, ignore_case: bool) -> dict[str, Any]:
    """The MongoDB condition of ``like``/``nlike``/``ilike``/``nilike`` with ``value``."""
    if not isinstance(value, str):
        raise InvalidFilterError(path, f"a like pattern must be a string, not {_show(value)}")
    _check_text(value, path, "the like pattern")
    if len(value) > MAX_LIKE_LENGTH:
        raise InvalidFilterError(
            path, f"a like pattern is at most {MAX_LIKE_LENGTH} characters, not {len(value)}"
        )
    wildcards = sum(1 for match in _LIKE_TOKEN.finditer(value) if match.group(2))
    if wildcards > MAX_LIKE_WILDCARDS:
        raise InvalidFilterError(
            path,
            f"a like pattern has at most {MAX_LIKE_WILDCARDS} runs of '%', not {wildcards}",
        )
    regex = like_to_regex(value)
    flags = "is" if ignore_case else "s"
    if negate:
        return {"$not": {"$regex": f"(?{flags}){regex}"}}
    return {"$regex": regex, "$options": flags}


def regexp_condition(value: Any, path: str) -> dict[str, Any]:
    """The MongoDB condition of ``regexp``: a ``re.Pattern`` or ``"/pattern/flags"``."""
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            raise InvalidFilterError(path, "a regexp must be a text pattern, not bytes")
        pattern = value.pattern
        flags = "".join(name for name, flag in _REGEX_FLAGS.items() if value.flags & flag)
        other = value.flags & ~(re.UNICODE | re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE)
        if other:
            raise InvalidFilterError(
                path, f"regexp flags other than IGNORECASE, MULTILINE, DOTALL, VERBOSE: {other!r}"
            )
    elif isinstance(value, str):
        literal = _REGEX_LITERAL.fullmatch(value) if value.startswith("/") else None
        if literal is None:
            pattern, flags = value, ""
        else:
            pattern, given = literal.groups()
            unknown = set(given) - set(_REGEX_FLAGS) - {"g"}
            if unknown:
                raise InvalidFilterError(
                    path,
                    f"unknown regexp flag(s) {''.join(sorted(unknown))!r} in {_show(value)}; "
                    "allowed: i, m, s, x",
                )
            flags = "".join(name for name in _REGEX_FLAGS if name in given)
    else:
        raise InvalidFilterError(
            path, f"a regexp must be a string or a compiled pattern, not {_show(value)}"
        )
    _check_text(pattern, path, "the regexp")
    return {"$regex": pattern, "$options": flags} if flags else {"$regex": pattern}
