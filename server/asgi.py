"""Entry point for ASGI servers running several workers: `uvicorn server.asgi:create --factory`."""

from server.app import create_app
from server.cli import freeze_startup_objects
from server.config import load_settings


def create():
    app = create_app(load_settings())
    freeze_startup_objects()  # each worker process, once (see there)
    return app
