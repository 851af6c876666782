"""The photo store contract, run unchanged against the directory store and real S3 protocol.

The S3 side talks over HTTP to a moto server on loopback (tests/s3server.py), so
minio-py's real requests, pagination and error bodies are exercised, not a mock.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from minio import Minio
from minio.error import S3Error

from server.errors import NotFound, Unavailable
from server.s3store import S3Store
from server.storage import DirectoryStore, PhotoStore, parse_endpoint
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def s3_server():
    with S3Server() as server:
        yield server


def make_s3_store(endpoint: str, bucket: str | None = None, **kwargs: object) -> S3Store:
    # A bucket per test keeps tests independent on the one shared server.
    bucket = bucket or f"photos-{uuid.uuid4().hex[:12]}"
    return S3Store(endpoint, ACCESS_KEY, SECRET_KEY, bucket, secure=False, region=REGION, **kwargs)


def raw_client(endpoint: str) -> Minio:
    return Minio(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False, region=REGION)


@pytest_asyncio.fixture(params=["directory", "s3"])
async def store(request, tmp_path: Path):
    if request.param == "directory":
        photo_store: PhotoStore = DirectoryStore(tmp_path / "photos")
    else:
        photo_store = make_s3_store(request.getfixturevalue("s3_server").endpoint)
    await photo_store.start()
    yield photo_store
    await photo_store.close()


async def collect(store: PhotoStore, prefix: str) -> list[str]:
    return [key async for key in store.list_keys(prefix)]


async def test_stored_bytes_come_back_unchanged(store: PhotoStore):
    data = bytes(range(256)) * 300
    await store.put("originals/ab/one", data, "image/jpeg")
    assert await store.get("originals/ab/one") == data


async def test_an_empty_object_is_stored_and_read_back(store: PhotoStore):
    await store.put("renditions/empty", b"", "image/jpeg")
    assert await store.get("renditions/empty") == b""
    stat = await store.stat("renditions/empty")
    assert stat is not None and stat.size == 0


async def test_putting_again_replaces_the_object_and_its_etag(store: PhotoStore):
    await store.put("renditions/ab/x.display", b"first version, longer", "image/jpeg")
    before = await store.stat("renditions/ab/x.display")
    await store.put("renditions/ab/x.display", b"second", "image/jpeg")
    after = await store.stat("renditions/ab/x.display")
    assert await store.get("renditions/ab/x.display") == b"second"
    assert before is not None and after is not None
    assert (before.size, after.size) == (21, 6)
    assert before.etag != after.etag


async def test_stat_reports_the_key_and_size_and_none_when_missing(store: PhotoStore):
    await store.put("originals/cd/two", b"x" * 1234, "image/png")
    stat = await store.stat("originals/cd/two")
    assert stat is not None
    assert (stat.key, stat.size) == ("originals/cd/two", 1234)
    assert stat.etag
    assert await store.stat("originals/cd/missing") is None
    assert await store.exists("originals/cd/two")
    assert not await store.exists("originals/cd/missing")


async def test_a_deleted_object_is_not_found_afterwards(store: PhotoStore):
    await store.put("originals/ef/three", b"data", "image/jpeg")
    await store.delete("originals/ef/three")
    with pytest.raises(NotFound):
        await store.get("originals/ef/three")
    assert not await store.exists("originals/ef/three")


async def test_getting_a_key_never_stored_is_not_found(store: PhotoStore):
    with pytest.raises(NotFound):
        await store.get("originals/00/never")
    # A key that names a "directory" of other keys is not an object either.
    await store.put("originals/11/inner/leaf", b"x", "image/jpeg")
    with pytest.raises(NotFound):
        await store.get("originals/11/inner")
    assert await store.stat("originals/11/inner") is None


async def test_deleting_a_missing_object_is_not_an_error(store: PhotoStore):
    await store.delete("originals/ef/nothing-here")
    await store.put("originals/ef/once", b"x", "image/jpeg")
    await store.delete("originals/ef/once")
    await store.delete("originals/ef/once")
    assert not await store.exists("originals/ef/once")


async def test_listing_returns_only_keys_under_the_prefix_in_lexical_order(store: PhotoStore):
    keys = [
        "originals/ab/2",
        "originals/ab/1",
        "originals/ab-c/3",
        "originals/ab.d",
        "originals/b/4",
        "renditions/ab/5",
    ]
    for key in keys:
        await store.put(key, b"k", "image/jpeg")
    assert await collect(store, "originals/ab/") == ["originals/ab/1", "originals/ab/2"]
    # A prefix may stop halfway through a segment, as S3 prefixes do.
    assert await collect(store, "originals/ab") == [
        "originals/ab-c/3",
        "originals/ab.d",
        "originals/ab/1",
        "originals/ab/2",
    ]
    assert await collect(store, "") == sorted(keys)
    assert await collect(store, "nothing/") == []


async def test_listing_more_than_one_s3_page_returns_every_key(store: PhotoStore):
    # S3 answers at most 1000 keys per request, so 1100 forces a second page.
    keys = [f"originals/{i % 7:02d}/{i:05d}" for i in range(1100)]
    limit = asyncio.Semaphore(16)

    async def put(key: str) -> None:
        async with limit:
            await store.put(key, b".", "application/octet-stream")

    await asyncio.gather(*(put(key) for key in keys))
    await store.put("renditions/00/outside", b".", "image/jpeg")
    assert await collect(store, "originals/") == sorted(keys)


async def test_readers_see_either_the_old_or_the_new_object_never_a_mix(store: PhotoStore):
    old, new = b"A" * 600_000, b"B" * 900_000
    await store.put("originals/ff/swap", old, "image/jpeg")
    seen: set[bytes] = set()

    async def read_many() -> None:
        for _ in range(15):
            seen.add(await store.get("originals/ff/swap"))

    async def write_many() -> None:
        for i in range(15):
            await store.put("originals/ff/swap", new if i % 2 == 0 else old, "image/jpeg")

    await asyncio.gather(read_many(), write_many(), read_many())
    assert seen <= {old, new}


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "originals/../../etc/passwd",
        "/absolute",
        "originals//double",
        "originals/trailing/",
        "originals/.hidden",
        ".",
        "",
        "with space",
        "back\\slash",
        "originals/ünicode",
        "a" * 1025,
    ],
)
async def test_keys_the_server_would_never_make_are_refused(store: PhotoStore, key: str):
    with pytest.raises(ValueError):
        await store.put(key, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        await store.get(key)


async def test_a_listing_prefix_that_climbs_out_is_refused(store: PhotoStore):
    with pytest.raises(ValueError):
        await collect(store, "../")


async def test_a_healthy_store_passes_the_readiness_check(store: PhotoStore):
    await store.check()


async def test_the_directory_store_leaves_no_temporary_files_and_lists_none(tmp_path: Path):
    store = DirectoryStore(tmp_path)
    await store.start()
    await store.put("originals/ab/k", b"v" * 10, "image/jpeg")
    assert sorted(p.name for p in (tmp_path / "originals/ab").iterdir()) == ["k"]
    # A temporary file left by a crash in the middle of a put is never a key.
    (tmp_path / "originals/ab/.k.abc.tmp").write_bytes(b"half")
    assert await collect(store, "") == ["originals/ab/k"]


async def test_the_directory_store_is_unavailable_when_its_root_is_gone(tmp_path: Path):
    store = DirectoryStore(tmp_path / "photos")
    with pytest.raises(Unavailable):
        await store.check()
    await store.start()
    await store.check()


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EIO])
async def test_a_full_or_failing_disk_makes_the_directory_store_unavailable_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: int
):
    store = DirectoryStore(tmp_path)
    await store.start()
    await store.put("originals/ab/kept", b"v" * 10, "image/jpeg")

    def failing_disk(*args, **kwargs):
        raise OSError(failure, os.strerror(failure))

    monkeypatch.setattr(os, "fsync", failing_disk)
    with pytest.raises(Unavailable):
        await store.put("originals/ab/new", b"w" * 10, "image/jpeg")
    assert sorted(p.name for p in (tmp_path / "originals/ab").iterdir()) == ["kept"]
    monkeypatch.setattr(Path, "read_bytes", failing_disk)
    monkeypatch.setattr(Path, "stat", failing_disk)
    with pytest.raises(Unavailable):
        await store.get("originals/ab/kept")
    with pytest.raises(Unavailable):
        await store.stat("originals/ab/kept")


def fail_disk_under(monkeypatch: pytest.MonkeyPatch, root: Path, calls: tuple[str, ...], failure: int) -> None:
    """Make the named os calls fail with `failure` for paths inside `root`, as a failing disk does.

    Only paths under the store's root fail, so pytest and the event loop keep their own file
    system; and patching os (not pathlib) catches every way of reaching the disk.
    """
    for name in calls:
        real = getattr(os, name)

        def failing(path, *args, _real=real, **kwargs):
            if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(str(root)):
                raise OSError(failure, os.strerror(failure), os.fspath(path))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, failing)


@pytest.mark.parametrize("failure", [errno.EIO, errno.ESTALE, errno.EROFS])
async def test_a_failing_disk_makes_directory_deletes_unavailable_not_a_raw_os_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: int
):
    store = DirectoryStore(tmp_path)
    await store.start()
    await store.put("originals/ab/kept", b"v" * 10, "image/jpeg")
    fail_disk_under(monkeypatch, tmp_path, ("unlink", "remove"), failure)
    with pytest.raises(Unavailable):
        await store.delete("originals/ab/kept")
    # A missing object is still no error, even while the disk fails for objects that exist.
    monkeypatch.undo()
    await store.delete("originals/ab/never-stored")
    assert (tmp_path / "originals/ab/kept").read_bytes() == b"v" * 10


@pytest.mark.parametrize("failure", [errno.EIO, errno.ESTALE])
async def test_a_failing_disk_makes_directory_existence_checks_unavailable_not_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: int
):
    store = DirectoryStore(tmp_path)
    await store.start()
    await store.put("originals/ab/kept", b"v" * 10, "image/jpeg")
    fail_disk_under(monkeypatch, tmp_path, ("stat", "lstat"), failure)
    # "Cannot tell" must never read as "not there": the sweeper would take a stored photo for lost.
    for key in ("originals/ab/kept", "originals/ab/missing"):
        with pytest.raises(Unavailable):
            await store.exists(key)
    monkeypatch.undo()
    assert await store.exists("originals/ab/kept")
    assert not await store.exists("originals/ab/missing")


async def test_a_failing_disk_makes_directory_listing_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = DirectoryStore(tmp_path)
    await store.start()
    await store.put("originals/ab/kept", b"v" * 10, "image/jpeg")
    fail_disk_under(monkeypatch, tmp_path, ("scandir",), errno.EIO)
    with pytest.raises(Unavailable):
        await collect(store, "originals/")


async def test_a_failing_disk_fails_the_directory_readiness_check_with_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = DirectoryStore(tmp_path)
    await store.start()
    fail_disk_under(monkeypatch, tmp_path, ("stat",), errno.EIO)
    with pytest.raises(Unavailable):
        await store.check()


async def test_a_failing_disk_makes_removing_partial_writes_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = DirectoryStore(tmp_path)
    await store.start()
    (tmp_path / "originals/ab").mkdir(parents=True)
    partial = tmp_path / "originals/ab/.k.abc.tmp"
    partial.write_bytes(b"half")
    os.utime(partial, (time.time() - 7200, time.time() - 7200))
    fail_disk_under(monkeypatch, tmp_path, ("stat", "unlink"), errno.EIO)
    with pytest.raises(Unavailable):
        await store.remove_partial_writes(datetime.now(UTC) - timedelta(hours=1))
    monkeypatch.undo()
    assert await store.remove_partial_writes(datetime.now(UTC) - timedelta(hours=1)) == 1


async def test_deleting_a_key_that_only_names_a_folder_of_other_keys_is_not_an_error(store: PhotoStore):
    await store.put("originals/12/inner/leaf", b"x", "image/jpeg")
    await store.delete("originals/12/inner")
    assert await store.get("originals/12/inner/leaf") == b"x"
    assert not await store.exists("originals/12/inner")


async def test_the_s3_store_creates_its_bucket_private(s3_server: S3Server):
    bucket = f"fresh-{uuid.uuid4().hex[:12]}"
    client = raw_client(s3_server.endpoint)
    assert not client.bucket_exists(bucket)
    store = make_s3_store(s3_server.endpoint, bucket)
    await store.start()
    await store.start()  # a second replica starting up finds the bucket and leaves it alone
    assert client.bucket_exists(bucket)
    with pytest.raises(S3Error) as raised:
        client.get_bucket_policy(bucket)
    assert raised.value.code == "NoSuchBucketPolicy"
    await store.close()


async def test_the_s3_readiness_check_fails_when_the_bucket_is_missing(s3_server: S3Server):
    store = make_s3_store(s3_server.endpoint)
    with pytest.raises(Unavailable):
        await store.check()
    await store.close()


async def test_a_put_after_the_bucket_disappeared_makes_it_again_and_stores_the_whole_object(
    s3_server: S3Server,
):
    store = make_s3_store(s3_server.endpoint)
    await store.start()
    raw_client(s3_server.endpoint).remove_bucket(store.bucket)
    # The put is retried once the bucket is made again; the retry must send the bytes again,
    # not the stream the first attempt already read to its end.
    await store.put("originals/aa/k", b"photo bytes", "image/jpeg")
    assert await store.get("originals/aa/k") == b"photo bytes"
    await store.close()


async def test_a_stopped_s3_server_makes_every_call_unavailable_and_recovery_needs_no_new_store():
    with S3Server() as server:
        store = make_s3_store(server.endpoint)
        await store.start()
        await store.put("originals/aa/before", b"x", "image/jpeg")
        server.stop()
        started = time.monotonic()
        for call in (
            store.put("originals/aa/during", b"x", "image/jpeg"),
            store.get("originals/aa/before"),
            store.stat("originals/aa/before"),
            store.delete("originals/aa/before"),
            collect(store, "originals/"),
            store.check(),
        ):
            with pytest.raises(Unavailable):
                await call
        # Refused connections must fail fast rather than wait out minio-py's defaults;
        # the bound is loose on purpose, a slow machine must not make this flaky.
        assert time.monotonic() - started < 30
        server.restart()
        # moto forgets everything on restart; the same store recreates its bucket.
        await store.start()
        await store.put("originals/aa/after", b"back", "image/jpeg")
        assert await store.get("originals/aa/after") == b"back"
        await store.close()


async def test_a_hung_s3_server_times_out_without_blocking_the_event_loop():
    with S3Server() as server:
        store = make_s3_store(server.endpoint, read_timeout=0.5, connect_timeout=0.5)
        await store.start()
        await store.put("originals/aa/k", b"x", "image/jpeg")
        server.pause()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            with pytest.raises(Unavailable):
                await store.get("originals/aa/k")
        finally:
            ticker.cancel()
            server.resume()
        # The read waited at least one timeout, during which the loop kept running.
        assert ticks >= 10
        await store.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("minio:9000", ("minio:9000", None)),
        ("127.0.0.1:9000", ("127.0.0.1:9000", None)),
        ("http://minio:9000", ("minio:9000", False)),
        ("HTTPS://s3.example.org:443", ("s3.example.org:443", True)),
        ("https://[::1]:9000", ("[::1]:9000", True)),
        ("s3.amazonaws.com", ("s3.amazonaws.com", None)),
    ],
)
async def test_s3_endpoints_are_parsed_into_host_port_and_scheme(value: str, expected: tuple[str, bool | None]):
    assert parse_endpoint(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ftp://minio:9000",
        "http://minio:9000/bucket",
        "minio:9000/",
        "http://",
        "minio:",
        "minio:99999",
        "minio:port",
        "http://user:pw@minio:9000",
        "minio:0",
        "http://minio:9000?x=1",
    ],
)
async def test_malformed_s3_endpoints_are_refused(value: str):
    with pytest.raises(ValueError):
        parse_endpoint(value)
