"""Settings come from the environment; a bad value stops start-up with one line naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.config import ConfigError, load_settings


def test_defaults_need_no_settings():
    s = load_settings({})
    assert s.database_url is None and s.s3_endpoint is None and s.port == 8000 and s.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u:p@127.0.0.1:notaport/db"}, "DATABASE_URL"),
        ({"DATABASE_READ_URL": "postgresql://u:p@replica:99999/db"}, "DATABASE_READ_URL"),
        ({"DATABASE_URL": "postgresql://u:p@h1:5432,h2:fifty/db"}, "DATABASE_URL"),
        ({"S3_ENDPOINT": "minio:9000"}, "S3_ACCESS_KEY"),
        ({"S3_ENDPOINT": "http://minio:port", "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "b"}, "S3_ENDPOINT"),
        ({"S3_SECURE": "maybe"}, "S3_SECURE"),
        (
            {"S3_ENDPOINT": "https://minio:9000", "S3_SECURE": "false", "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "b"},
            "S3_SECURE",
        ),
        (
            {"S3_ENDPOINT": "http://minio:9000", "S3_SECURE": "true", "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "b"},
            "S3_SECURE",
        ),
        ({"S3_BUCKET": "Photos_Bucket"}, "S3_BUCKET"),
        ({"SESSION_TTL_HOURS": "0"}, "SESSION_TTL_HOURS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"FORWARDED_ALLOW_IPS": "nginx"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.5, 10.0.0.1/24"}, "FORWARDED_ALLOW_IPS"),
    ],
)
def test_a_malformed_setting_is_named(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@db.police.local:5432/muaina",
        "postgresql://u:p@h1:5432,h2/muaina",  # several hosts, the last one on the default port
        "postgresql://u:p@[::1]:5432/muaina",
        "postgresql:///muaina?host=/var/run/postgresql",
        # An "@" in the query is not the end of a user and password.
        "postgresql://muaina:pw@db.internal/muaina?application_name=muaina@web&sslmode=require",
        "postgresql://db.internal/muaina?password=x&user=muaina@azure-server",
    ],
)
def test_a_well_formed_database_url_is_taken_as_it_is(url):
    assert load_settings({"DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://muaina:2024/Lahore-Secret@db.internal:5432/muaina", "Lahore-Secret"),
        ("postgresql://muaina:S3c@ret/PW@127.0.0.1:5432/muaina", "ret/PW"),
        ("postgresql://muaina:pa?ss@db.internal/muaina", "pa?ss"),
        # A query after the host (managed PostgreSQL's sslmode) is no way round the check.
        ("postgresql://muaina:2024/Lahore-Secret@db.internal:5432/muaina?sslmode=require", "Lahore-Secret"),
        ("postgresql://muaina:pa?ss@db.internal/muaina?sslmode=require", "pa?ss"),
    ],
)
def test_a_password_a_url_cannot_carry_is_refused_without_printing_it(url, secret):
    """Read as written, "/" ends the host: the password was taken for a host and port and printed in
    the "cannot connect" line. Such a password must be percent-encoded; the refusal names the host only."""
    with pytest.raises(ConfigError, match="percent-encoded") as refused:
        load_settings({"DATABASE_URL": url})
    message = str(refused.value)
    assert secret not in message
    assert "db.internal" in message or "127.0.0.1" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://muaina:2024%2FLahore@db.internal:5432/muaina", "db.internal:5432/muaina"),
        ("postgresql://h:abc/muaina?password=S3cretPW", "h:abc/muaina"),
        ("postgresql:///muaina?host=/run/postgresql&user=a@b&password=S3cretPW", "/muaina"),
        ("postgresql://muaina:pw@db.internal/muaina?application_name=muaina@web", "db.internal/muaina"),
        ("postgresql:///muaina?host=/run/postgresql", "/muaina"),
    ],
)
def test_where_a_url_points_is_said_without_its_password_or_query(url, shown):
    from server.config import url_location

    assert url_location(url) == shown


def test_the_trusted_proxies_are_addresses_and_networks():
    assert load_settings({}).forwarded_allow_ips == "127.0.0.1,::1"
    assert load_settings({"FORWARDED_ALLOW_IPS": " 10.0.0.5, 172.16.0.0/12,fd00::/8 "}).forwarded_allow_ips == (
        "10.0.0.5,172.16.0.0/12,fd00::/8"
    )
    assert load_settings({"FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == "*"


def test_s3_endpoint_scheme_sets_secure():
    creds = {"S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "b"}
    assert load_settings({"S3_ENDPOINT": "https://minio.local:9000", **creds}).s3_secure is True
    plain = load_settings({"S3_ENDPOINT": "http://minio.local:9000", **creds})
    assert plain.s3_secure is False and plain.s3_endpoint == "minio.local:9000"
    assert load_settings({"S3_ENDPOINT": "minio.local:9000", "S3_SECURE": "true", **creds}).s3_secure is True
    # Both saying the same is no contradiction.
    assert load_settings({"S3_ENDPOINT": "https://minio.local:9000", "S3_SECURE": "1", **creds}).s3_secure is True


def test_a_bad_setting_stops_the_command_with_one_clear_line():
    result = subprocess.run(
        [sys.executable, "-m", "server", "migrate"],
        env={"PORT": "abc", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["configuration error: PORT must be a whole number, got 'abc'"]
