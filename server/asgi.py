"""Entry point for ASGI servers running several workers: `uvicorn server.asgi:create --factory`."""

import logging
import sys

from uvicorn.config import STARTUP_FAILURE

from server.app import create_app
from server.cli import freeze_startup_objects
from server.config import load_settings


def create():
    try:
        app = create_app(load_settings())
    except Exception:
        # uvicorn's status for a worker that could not start: its supervisor then stops them all, where
        # an app factory's exception is restarted for ever (cli.serve_workers reads it).
        logging.getLogger("muaina").exception("this worker process cannot start")
        sys.exit(STARTUP_FAILURE)
    freeze_startup_objects()  # each worker process, once (see there)
    return app
