"""Logs an IT officer can use: a request's id on its response, in its 500's problem document and on
each of its log lines; one format, times in UTC with their zone."""

from __future__ import annotations

import logging
import logging.config
import re

from server.logs import ACCESS_FORMAT, FORMAT, UtcAccessFormatter, UtcFormatter, log_config


async def _break_logins(client) -> None:
    conn = await client.db()
    try:
        await conn.execute("ALTER TABLE users RENAME TO users_gone")
    finally:
        await conn.close()


async def test_a_500_names_the_reference_its_log_lines_carry(client, caplog):
    await _break_logins(client)
    with caplog.at_level(logging.ERROR, logger="muaina"):
        failed = await client.http.post("/api/v1/auth/login", json={"username": "a", "password": "b" * 12})
    assert failed.status_code == 500
    rid = failed.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    assert failed.json()["request_id"] == rid and rid in failed.json()["detail"]
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and logged[0].exc_info  # once, with its stack trace
    # Formatted as the configured handlers do, the line carries the reference and a UTC time.
    record = logged[0]
    record.request_id = rid
    line = UtcFormatter(FORMAT).format(record)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR muaina\.http \[" + rid + r"\] unhandled error", line)


async def test_a_sane_request_id_from_a_proxy_is_kept_and_anything_else_replaced(client):
    kept = await client.http.get("/health", headers={"X-Request-ID": "lb-7f3a.42_x"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42_x"
    for odd in ("a b", "x" * 65, "<script>", ""):
        other = await client.http.get("/health", headers={"X-Request-ID": odd})
        assert re.fullmatch(r"[0-9a-f]{16}", other.headers["x-request-id"]), odd
    first, second = [(await client.http.get("/health")).headers["x-request-id"] for _ in range(2)]
    assert first != second


def test_every_process_logs_app_and_access_lines_in_one_format_with_the_request_id():
    config = log_config("INFO")
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names
    }
    logging.config.dictConfig(config)
    try:
        assert config["formatters"]["default"] == {"()": UtcFormatter, "fmt": FORMAT}
        assert config["formatters"]["access"]["()"] is UtcAccessFormatter
        assert "%(request_id)s" in FORMAT and "%(request_id)s" in ACCESS_FORMAT
        for name in ("muaina.http", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            handlers = logger.handlers or logging.getLogger(name.split(".")[0]).handlers or logging.getLogger().handlers
            assert handlers and all(h.filters for h in handlers), name
    finally:  # as the test session had them
        for n, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(n)
            logger.handlers[:], logger.propagate = handlers, propagate
            logger.setLevel(level)


def test_an_access_line_keeps_no_inspectors_position():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "10.0.0.9:5000",
            "PUT",
            "/api/v1/photos/p1?inspection_id=i1&item_key=k&lat=31.52&lon=74.35&accuracy_m=9",
            "1.1",
            201,
        ),
        None,
    )
    record.request_id = "r1"
    line = UtcAccessFormatter(ACCESS_FORMAT, use_colors=False).format(record)
    assert "31.52" not in line and "74.35" not in line
    assert '"PUT /api/v1/photos/p1?inspection_id=i1&item_key=k&lat=-&lon=-&accuracy_m=- HTTP/1.1" 201' in line
