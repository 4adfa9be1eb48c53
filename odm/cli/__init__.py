"""The pieces of ``python -m odm`` (the entry point is ``odm/__main__.py``)."""
