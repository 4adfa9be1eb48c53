"""odm: an asynchronous MongoDB object-document mapper on pydantic v2."""
