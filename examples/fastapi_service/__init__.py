"""A FastAPI service with odm: CRUD for customers in LoopBack's REST shape.

    uvicorn examples.fastapi_service.app:app --reload      # odm.connect(): embedded server
    ODM_URI=mongodb://localhost:27017/shop uvicorn examples.fastapi_service.app:app
    python -m examples.fastapi_service                     # the same, via uvicorn.run

See ``app.py`` for the routes and the error -> HTTP status mapping.
"""
