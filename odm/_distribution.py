"""The name odm is installed under (the import package is ``odm``; ``odm`` on the package
index is an unrelated project), and the install hints error messages give."""

from __future__ import annotations

DISTRIBUTION = "loopback-odm"


def install_hint(extra: str) -> str:
    """``pip install 'loopback-odm[extra]'``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
