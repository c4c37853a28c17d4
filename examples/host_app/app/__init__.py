"""A host application of its own, named `app` like most FastAPI apps."""
