"""Settings: read once from the environment into one frozen Struct.

A missing or malformed value stops start-up with one line that names the variable, because an IT officer
reading a service log should not have to decode a traceback to find a typo.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec


class ConfigError(Exception):
    """One clear line naming the setting that is wrong."""


# uvicorn's own default: a proxy on this machine.
DEFAULT_PROXIES = "127.0.0.1,::1"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    database_read_url: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "muaina-photos"
    s3_secure: bool = False
    s3_region: str | None = None
    # The longest one object-store call may take, retries included, before the request answers 503:
    # a hung store must cost an upload seconds, not minutes (tests/reliability/test_store_outage.py).
    s3_timeout_seconds: int = 15
    host: str = "127.0.0.1"
    port: int = 8000
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto uvicorn believes: comma-separated
    # addresses and networks, or "*". The client address (login throttling, audit) and HTTPS come from them.
    forwarded_allow_ips: str = DEFAULT_PROXIES
    data_dir: Path = Path("var")
    session_ttl_hours: int = 24 * 30
    presence_radius_m: int = 300
    max_json_bytes: int = 2 * 1024 * 1024
    max_photo_bytes: int = 25 * 1024 * 1024
    image_workers: int = 0
    db_pool_size: int = 10
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    log_level: str = "INFO"
    # The bearer token Prometheus sends to GET /metrics; unset, the endpoint is absent (404).
    metrics_token: str | None = None

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


# Where a database URL's query begins: a "?" followed by key=value, so an "@" inside the query
# (application_name=a@b, Azure's user=name@server) is not taken for the end of the user and password,
# and a "?" in an unescaped password (followed by "@", not by key=) is not taken for the query.
_QUERY = re.compile(r"\?[^/@?#]*=")


def _split_url(raw: str) -> tuple[str, str]:
    """A database URL's user and password, and where it points (hosts and database, no query).

    The user and password end at the last "@" before the query, not at the first "/" as a URL parser
    reads it, so an unescaped "/" in a password is not taken for the end of the host."""
    rest = raw.split("://", 1)[-1]
    query = _QUERY.search(rest)
    head = rest[: query.start()] if query else rest
    userinfo, _, place = head.rpartition("@")
    return userinfo, place.split("#", 1)[0]


def url_location(raw: str) -> str:
    """Where a database URL points, fit to print: never its user, password or query (password=)."""
    return _split_url(raw)[1] or "the local socket"


def _url(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name) or None
    if raw is None:
        return None
    shown = url_location(raw)  # never the password
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ConfigError(f"{name} must be a postgresql:// URL, got a {raw.partition(':')[0]!r} one")
    if any(mark in _split_url(raw)[0] for mark in "/?#"):
        # Read as written, the host would be part of the password: the connection goes elsewhere and the
        # error would print the password.
        raise ConfigError(
            f"{name}: the user name or password holds / ? or #; write them percent-encoded"
            f" (%2F, %3F, %23) so the URL can be read (host {shown!r})"
        )
    # Each host's port, when it names one, is a number (a URL may list several hosts, "h1:5432,h2/db").
    netloc = urlsplit(raw).netloc.rpartition("@")[2]
    for host in netloc.split(","):
        try:
            urlsplit(f"//{host}").port  # noqa: B018 - parsing it is the check: a port that is not a number raises
        except ValueError:
            raise ConfigError(f"{name} has a port that is not a number from 1 to 65535: {shown!r}") from None
    return raw


def _endpoint(environ: Mapping[str, str]) -> tuple[str | None, bool | None]:
    raw = environ.get("S3_ENDPOINT") or None
    if raw is None:
        return None, None
    secure: bool | None = None
    if raw.startswith("http://"):
        raw, secure = raw[len("http://") :], False
    elif raw.startswith("https://"):
        raw, secure = raw[len("https://") :], True
    raw = raw.rstrip("/")
    host, _, port = raw.rpartition(":")
    if not raw or "/" in raw or (port and not host) or (host and not port.isdigit()):
        raise ConfigError(f"S3_ENDPOINT must be host:port (optionally with http:// or https://), got {raw!r}")
    return raw, secure


def _proxies(environ: Mapping[str, str]) -> str:
    """FORWARDED_ALLOW_IPS, checked: uvicorn would take a host name or a typo as a literal that never
    matches, and every request would then seem to come from the proxy."""
    raw = (environ.get("FORWARDED_ALLOW_IPS") or "").strip() or DEFAULT_PROXIES
    if raw == "*":
        return raw
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for entry in entries:
        try:
            if "/" in entry:
                ipaddress.ip_network(entry)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            raise ConfigError(
                f"FORWARDED_ALLOW_IPS must list IP addresses or networks (10.0.0.5, 10.0.0.0/24) or be *, got {entry!r}"
            ) from None
    return ",".join(entries)


# Long enough that guessing it is hopeless (`openssl rand -hex 32` makes one of 64).
METRICS_TOKEN_MIN = 32


def _metrics_token(environ: Mapping[str, str]) -> str | None:
    """METRICS_TOKEN, checked; never printed, since the error lands in a service log."""
    raw = environ.get("METRICS_TOKEN") or None
    if raw is None:
        return None
    if len(raw) < METRICS_TOKEN_MIN:
        raise ConfigError(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters (openssl rand -hex 32 makes one),"
            f" got {len(raw)}"
        )
    if not all("!" <= c <= "~" for c in raw):
        # It travels in an HTTP header and in Prometheus's configuration: visible ASCII only, no spaces.
        raise ConfigError("METRICS_TOKEN must be visible ASCII characters only, without spaces")
    return raw


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    endpoint, secure_from_scheme = _endpoint(env)
    s3_secure = _bool(env, "S3_SECURE", secure_from_scheme if secure_from_scheme is not None else False)
    if secure_from_scheme is not None and s3_secure != secure_from_scheme:
        # Either way one of the two is wrong; guessing could send the store's keys in clear text.
        scheme = "https" if secure_from_scheme else "http"
        raise ConfigError(
            f"S3_SECURE={env.get('S3_SECURE')} contradicts the {scheme}:// of S3_ENDPOINT; set only one of them"
        )
    if endpoint:
        for name in ("S3_ACCESS_KEY", "S3_SECRET_KEY"):
            if not env.get(name):
                raise ConfigError(f"{name} is required when S3_ENDPOINT is set")
    bucket = env.get("S3_BUCKET") or "muaina-photos"
    if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in "-." for c in bucket):
        raise ConfigError(f"S3_BUCKET must be 3-63 lowercase letters, digits, '-' or '.', got {bucket!r}")
    log_level = (env.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    return Settings(
        database_url=_url(env, "DATABASE_URL"),
        database_read_url=_url(env, "DATABASE_READ_URL"),
        s3_endpoint=endpoint,
        s3_access_key=env.get("S3_ACCESS_KEY") or None,
        s3_secret_key=env.get("S3_SECRET_KEY") or None,
        s3_bucket=bucket,
        s3_secure=s3_secure,
        s3_region=env.get("S3_REGION") or None,
        s3_timeout_seconds=_int(env, "S3_TIMEOUT_SECONDS", 15, minimum=1, maximum=600),
        host=env.get("HOST") or "127.0.0.1",
        port=_int(env, "PORT", 8000, minimum=1, maximum=65535),
        forwarded_allow_ips=_proxies(env),
        data_dir=Path(env.get("DATA_DIR") or "var"),
        session_ttl_hours=_int(env, "SESSION_TTL_HOURS", 24 * 30, minimum=1, maximum=24 * 365),
        presence_radius_m=_int(env, "PRESENCE_RADIUS_M", 300, minimum=10, maximum=100_000),
        max_json_bytes=_int(env, "MAX_JSON_BYTES", 2 * 1024 * 1024, minimum=1024),
        max_photo_bytes=_int(env, "MAX_PHOTO_BYTES", 25 * 1024 * 1024, minimum=1024),
        image_workers=_int(env, "IMAGE_WORKERS", 0, minimum=0, maximum=64),
        db_pool_size=_int(env, "DB_POOL_SIZE", 10, minimum=1, maximum=500),
        login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 5, minimum=1, maximum=1000),
        login_lockout_seconds=_int(env, "LOGIN_LOCKOUT_SECONDS", 900, minimum=1),
        log_level=log_level,
        metrics_token=_metrics_token(env),
    )
