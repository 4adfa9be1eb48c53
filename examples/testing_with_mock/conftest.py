"""Fixtures of the shop's test suite, on top of odm's pytest plugin.

The plugin (``odm.testing``) gives every test an ``odm_db``: a fresh database, dropped
afterwards, on the backend ``ODM_TEST_BACKEND`` names: ``mock`` (the default,
mongomock-motor in memory, no server), ``embedded`` (a throwaway local SecantusDB server
started once per session), ``motor``, or a ``mongodb://`` URI.

Install odm with its ``testing`` extra (``pip install '/path/to/odm[testing]'``; add
``embedded`` for the server backends) and enable the plugin once, in your root
``conftest.py``::

    pytest_plugins = ["odm.testing"]

or in your pytest configuration (``pytest.ini`` here; ``addopts = ["-p", "odm.testing"]``
in pyproject.toml's ``[tool.pytest.ini_options]``). This example uses the second way
because inside odm's repository this directory is not the root: pytest refuses
``pytest_plugins`` in a conftest.py below the root directory.
"""

from __future__ import annotations

from typing import Any

import pytest
from shop import Shop


@pytest.fixture
async def shop(odm_db: Any) -> Shop:
    """The service on this test's fresh database, with its indexes."""
    shop = Shop(odm_db)
    await shop.setup()
    return shop
