"""Glue for running the examples inside odm's own repository, not part of any example.

``examples/testing_with_mock`` shows a user's suite, which enables ``odm.testing`` in its
own pytest.ini. When pytest runs from this repository's root instead, that file is not
read; this registers the plugin the way a user's root conftest would, unless
tests/conftest.py already did (``pytest_plugins`` is refused in a conftest below the
root, so this one cannot simply declare it).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("odm.testing"):
        config.pluginmanager.import_plugin("odm.testing")
