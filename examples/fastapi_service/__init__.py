"""A FastAPI service with odm: customers of many tenants in LoopBack's REST shape, built by
``odm.rest.crud_router``, with hashed passwords and an audit trail.

    uvicorn examples.fastapi_service.app:app --reload      # odm.connect(): embedded server
    ODM_URI=mongodb://localhost:27017/shop uvicorn examples.fastapi_service.app:app
    python -m examples.fastapi_service                     # the same, via uvicorn.run

See ``app.py`` for the tenancy, password and audit parts (the routes are the router's).
"""
