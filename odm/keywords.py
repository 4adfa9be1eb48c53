"""The JSON Schema keywords odm enforces on every write, and their checks.

A property's ``json_schema`` may hold any keyword; the ones in :data:`ENFORCED_KEYWORDS`
become a validator of the property (run by pydantic on construction, on load and by
every repository write). A failed check raises a pydantic custom error whose type is the
keyword, so ``ValidationError.details`` carry the keyword as ``code``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sized
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import AnyUrl, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

__all__ = ["ENFORCED_FORMATS", "ENFORCED_KEYWORDS", "keyword_checker", "odm_error"]

ENFORCED_FORMATS = ("email", "uri", "uuid", "date-time")

_URL: TypeAdapter[AnyUrl] = TypeAdapter(AnyUrl)


def odm_error(code: str, message: str, *, verbatim: bool = False) -> PydanticCustomError:
    """A pydantic error carrying an odm detail code and its message; ``verbatim`` when the
    message is the model's own ``errorMessage`` (shown as written, with no path prefix)."""
    # The message goes through the context so braces in it are never read as a template.
    return PydanticCustomError(code, "{message}", {"message": message, "verbatim": verbatim})


def _is_email(value: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _is_uri(value: str) -> bool:
    try:
        _URL.validate_python(value)
    except PydanticValidationError:
        return False
    return True


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# RFC 3339, as JSON Schema's "date-time": a date, a time and a UTC offset.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)")


def _is_datetime(value: str) -> bool:
    if _DATE_TIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(f"{value[:10]}T{value[11:].upper().replace('Z', '+00:00')}")
    except ValueError:
        return False
    return True


_FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "email": _is_email,
    "uri": _is_uri,
    "uuid": _is_uuid,
    "date-time": _is_datetime,
}


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, Sized) and not isinstance(value, Mapping) else None


def _check_min_length(value: Any, limit: Any) -> str | None:
    n = _length(value) if isinstance(value, str) else None
    return f"must be at least {limit} characters long" if n is not None and n < limit else None


def _check_max_length(value: Any, limit: Any) -> str | None:
    n = _length(value) if isinstance(value, str) else None
    return f"must be at most {limit} characters long" if n is not None and n > limit else None


def _check_min_items(value: Any, limit: Any) -> str | None:
    n = None if isinstance(value, str) else _length(value)
    return f"must have at least {limit} items" if n is not None and n < limit else None


def _check_max_items(value: Any, limit: Any) -> str | None:
    n = None if isinstance(value, str) else _length(value)
    return f"must have at most {limit} items" if n is not None and n > limit else None


def _check_pattern(value: Any, pattern: Any) -> str | None:
    if isinstance(value, str) and re.search(pattern, value) is None:
        return f"must match the pattern {pattern!r}"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _check_minimum(value: Any, limit: Any) -> str | None:
    return f"must be >= {limit}" if _number(value) and value < limit else None


def _check_maximum(value: Any, limit: Any) -> str | None:
    return f"must be <= {limit}" if _number(value) and value > limit else None


def _check_exclusive_minimum(value: Any, limit: Any) -> str | None:
    return f"must be > {limit}" if _number(value) and value <= limit else None


def _check_exclusive_maximum(value: Any, limit: Any) -> str | None:
    return f"must be < {limit}" if _number(value) and value >= limit else None


def _check_enum(value: Any, allowed: Any) -> str | None:
    plain = getattr(value, "value", value)
    return None if plain in allowed else f"must be one of {list(allowed)!r}"


def _check_format(value: Any, fmt: Any) -> str | None:
    if isinstance(value, datetime | date | uuid.UUID):
        return None
    check = _FORMAT_CHECKS.get(fmt)
    if check is None or not isinstance(value, str) or check(value):
        return None
    return f"must be a valid {fmt}"


#: keyword -> check(value, keyword value) giving the default message of a failure, or None.
ENFORCED_KEYWORDS: dict[str, Callable[[Any, Any], str | None]] = {
    "minLength": _check_min_length,
    "maxLength": _check_max_length,
    "pattern": _check_pattern,
    "minimum": _check_minimum,
    "maximum": _check_maximum,
    "exclusiveMinimum": _check_exclusive_minimum,
    "exclusiveMaximum": _check_exclusive_maximum,
    "minItems": _check_min_items,
    "maxItems": _check_max_items,
    "enum": _check_enum,
    "format": _check_format,
}


def keyword_checker(json_schema: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """The after-validator enforcing the keywords of ``json_schema``, or None if it has none.

    ``errorMessage`` (a string, or a map keyword -> message) replaces the message of a
    failed keyword. The first failed keyword of the property is the one reported.
    """
    rules = [
        (keyword, check, json_schema[keyword])
        for keyword, check in ENFORCED_KEYWORDS.items()
        if keyword in json_schema
        and not (keyword == "format" and json_schema[keyword] not in _FORMAT_CHECKS)
    ]
    if not rules:
        return None
    custom = json_schema.get("errorMessage")

    def check_keywords(value: Any) -> Any:
        if value is None:
            return value
        for keyword, check, limit in rules:
            message = check(value, limit)
            if message is not None:
                if isinstance(custom, str):
                    raise odm_error(keyword, custom, verbatim=True)
                if isinstance(custom, Mapping) and keyword in custom:
                    raise odm_error(keyword, str(custom[keyword]), verbatim=True)
                raise odm_error(keyword, message)
        return value

    return check_keywords
