"""What every browser test module may ask for: a live server on a fresh copy of the demo database.

Function-scoped: each test gets its own server and database. A module whose tests share one (to
save the start-up) defines its own `pwa_server` with scope="module", which takes precedence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, live_server_for


@pytest.fixture
def pwa_server(pg_admin_url: str, demo_template_db: str, tmp_path: Path) -> Iterator[LiveServer]:
    """For the phone's and the reviewer's screens."""
    yield from live_server_for(pg_admin_url, demo_template_db, tmp_path)


@pytest.fixture
def admin_server(pg_admin_url: str, demo_template_db: str, tmp_path: Path) -> Iterator[LiveServer]:
    """For the admin console's screens."""
    yield from live_server_for(pg_admin_url, demo_template_db, tmp_path)
