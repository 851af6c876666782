"""Entry point for ASGI servers running several workers: `uvicorn server.asgi:create --factory`."""

from server.app import create_app
from server.config import load_settings


def create():
    return create_app(load_settings())
