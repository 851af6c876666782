"""Entry point for ASGI servers running several workers: `uvicorn server.asgi:create --factory`."""

import logging
import sys

from server.app import create_app
from server.cli import freeze_startup_objects
from server.config import load_settings

# uvicorn's exit status for a worker that could not start: its supervisor then stops them all rather
# than starting the same failure again and again (an app factory's exception is restarted for ever).
STARTUP_FAILURE = 3


def create():
    try:
        app = create_app(load_settings())
    except Exception:
        logging.getLogger("muaina").exception("this worker process cannot start")
        sys.exit(STARTUP_FAILURE)
    freeze_startup_objects()  # each worker process, once (see there)
    return app
