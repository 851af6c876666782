"""Demo content (hierarchy, templates, users) for `muaina seed-demo`; see content.py."""

from server.demo.content import (
    DEMO_PASSWORDS,
    DEMO_USERS,
    TEMPLATES,
    iter_stations,
    load_hierarchy,
    load_template,
)

__all__ = ["DEMO_PASSWORDS", "DEMO_USERS", "TEMPLATES", "iter_stations", "load_hierarchy", "load_template"]
