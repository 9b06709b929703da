"""The HTTP transport: a Starlette ASGI app (served by uvicorn) over ``InferenceService``."""
