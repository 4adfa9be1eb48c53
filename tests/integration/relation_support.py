"""Shared pieces of the relation tests: repositories of the shop models and a counter of
the queries the driver adapter sends (every backend goes through it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from odm import Repository
from odm.drivers.common import ServerCollection

from .relation_models import Customer, Order, OrderLine, Product, Profile, Tag


class Shop:
    def __init__(self, db: Any, **options: Any) -> None:
        self.customers = Repository(Customer, db, **options)
        self.orders = Repository(Order, db, **options)
        self.products = Repository(Product, db, **options)
        self.lines = Repository(OrderLine, db, **options)
        self.tags = Repository(Tag, db, **options)
        self.profiles = Repository(Profile, db, **options)


@contextmanager
def counting_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts the reads sent to each collection (cursors, find_one, aggregate)."""
    counts: Counter[str] = Counter()
    cursor, find_one, aggregate = (
        ServerCollection._cursor,
        ServerCollection.find_one,
        ServerCollection.aggregate,
    )

    def counted_cursor(self: ServerCollection, *args: Any, **kwargs: Any) -> Any:
        counts[self.name] += 1
        return cursor(self, *args, **kwargs)

    async def counted_find_one(self: ServerCollection, *args: Any, **kwargs: Any) -> Any:
        counts[self.name] += 1
        return await find_one(self, *args, **kwargs)

    async def counted_aggregate(self: ServerCollection, *args: Any, **kwargs: Any) -> Any:
        counts[self.name] += 1
        return await aggregate(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(ServerCollection, "_cursor", counted_cursor)
        patch.setattr(ServerCollection, "find_one", counted_find_one)
        patch.setattr(ServerCollection, "aggregate", counted_aggregate)
        yield counts
