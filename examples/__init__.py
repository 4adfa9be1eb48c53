"""odm's examples: the quickstart, a FastAPI service, a worker, a test suite on a mock.

Each one runs on its own (see its docstring); ``tests/examples`` runs them on every backend.
"""
