"""The S3 photo store (server.storage's interface) through minio-py: what production runs against MinIO.

A module of its own so that minio-py is imported only where it is used (server.storage.S3Store loads it).
"""

from __future__ import annotations

import asyncio
import functools
import io
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import MinioException, S3Error

from server.errors import NotFound, Unavailable
from server.storage import StoredObject, validate_key, validate_prefix

log = logging.getLogger("muaina.storage")

T = TypeVar("T")


class S3Store:
    """Objects in one private S3 bucket through minio-py, run on a small thread pool."""

    # Keys fetched per thread hop while listing; S3 returns at most 1000 per page.
    LIST_BATCH = 1000

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        timeout: float = 15.0,
        max_workers: int = 8,
    ):
        self.bucket = bucket
        # The deadline of one whole call, retries included (see _run).
        self.timeout = timeout
        # Set once start() has made (or found) the bucket: a bucket missing after that has disappeared.
        self._started = False
        # minio-py's default client waits five minutes and retries five times, so a
        # store outage would hang uploads; these limits make it answer quickly. One
        # connection retry and one read retry survive a pooled connection that the
        # server closed, without multiplying the wait.
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(connect_timeout, timeout), read=min(read_timeout, timeout)),
            maxsize=max_workers,
            retries=urllib3.Retry(
                total=2, connect=1, read=1, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=self._http
        )
        # minio-py blocks; a pool of its own keeps store calls off the event loop
        # and keeps a slow store from starving other users of the default executor.
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="photo-store")

    async def _run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        # The deadline bounds the whole call, queueing for a thread and retries included. A hung
        # store (the port accepts connections, nothing answers) then costs a request seconds, not
        # the socket timeout times every retry times every object. A call past its deadline keeps
        # its thread until the socket timeout ends it; its request has had its 503 long before.
        async with asyncio.timeout(self.timeout):
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def _call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        try:
            try:
                return await self._run(fn, *args, **kwargs)
            except S3Error as exc:
                if exc.code != "NoSuchBucket" or not self._started:
                    raise
                await self._bucket_vanished()
                return await self._run(fn, *args, **kwargs)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                raise NotFound("no such stored object") from None
            # Access denied or the like is the operator's problem; the caller sees a
            # clean 503 and the log says which.
            log.warning("photo store refused %s: %s %s", fn.__name__, exc.code, exc.message)
            raise Unavailable("photo store unavailable") from exc
        except TimeoutError as exc:
            log.warning("photo store did not answer %s within %g s", fn.__name__, self.timeout)
            raise Unavailable("photo store unavailable") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("photo store unreachable during %s: %s", fn.__name__, exc)
            raise Unavailable("photo store unavailable") from exc

    async def _bucket_vanished(self) -> None:
        # The bucket was there at start (start() makes it). Gone now means it was deleted, or the
        # store lost its data: what it held is lost either way, and refusing new photos until
        # someone restarts the app (which would make the bucket again anyway) only keeps them on
        # the phones. Making it again lets uploads resume; the log says loudly what happened.
        log.error(
            "photo store bucket %s has disappeared; making it again (photos stored before it "
            "disappeared are not in it)",
            self.bucket,
        )
        await self._run(self._create_bucket)

    async def ensure_bucket(self) -> None:
        await self._call(self._create_bucket)

    def _create_bucket(self) -> None:
        # No policy is ever set: a new bucket is private, and photos leave it only
        # through the API, which checks scope and writes the audit row.
        if self._client.bucket_exists(self.bucket):
            return
        try:
            self._client.make_bucket(self.bucket)
        except S3Error as exc:
            # Another replica starting at the same moment may have won the race.
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    async def start(self) -> None:
        await self.ensure_bucket()
        self._started = True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        await self._call(self._put_object, key, data, content_type)

    def _put_object(self, key: str, data: bytes, content_type: str) -> None:
        # One part as large as the photo gives a single PUT: S3 makes it visible
        # whole or not at all, in one round trip, instead of a multipart upload.
        # A stream of its own for every attempt: _call repeats the call when the bucket has to be
        # made again, and a stream the first attempt read to its end would send nothing.
        part_size = max(len(data), 5 * 1024 * 1024)
        self._client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, part_size=part_size
        )

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await self._call(self._read_object, key)

    def _read_object(self, key: str) -> bytes:
        response = self._client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> StoredObject | None:
        validate_key(key)
        try:
            obj = await self._call(self._client.stat_object, self.bucket, key)
        except NotFound:
            return None
        return StoredObject(key=key, size=obj.size or 0, etag=(obj.etag or "").strip('"'))

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def delete(self, key: str) -> None:
        validate_key(key)
        # S3 answers a delete of a missing key with success, which is the idempotence we want.
        await self._call(self._client.remove_object, self.bucket, key)

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        validate_prefix(prefix)
        # minio-py pages through ListObjectsV2 lazily; each hop to the pool pulls
        # about one page, so memory stays flat however many objects there are.
        objects = self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
        while True:
            batch = await self._call(_take_keys, objects, self.LIST_BATCH)
            for key in batch:
                yield key
            if len(batch) < self.LIST_BATCH:
                return

    async def remove_partial_writes(self, before: datetime, *, dry_run: bool = False) -> int:
        # put() sends every photo as one PUT request (one part as large as the object), which S3
        # stores whole or not at all: an interrupted write leaves no incomplete multipart upload.
        return 0

    async def check(self) -> None:
        # A bucket that disappeared after start is made again here too, as on an upload: otherwise a
        # replica that is not ready receives no uploads and never gets the chance to make it.
        if not await self._call(self._client.bucket_exists, self.bucket):
            if not self._started:
                log.warning("photo store bucket %s does not exist", self.bucket)
                raise Unavailable("photo store unavailable")
            try:
                await self._bucket_vanished()
            except (S3Error, MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
                log.warning("photo store bucket %s does not exist and could not be made: %s", self.bucket, exc)
                raise Unavailable("photo store unavailable") from exc

    async def close(self) -> None:
        # Calls already running end within the timeouts above; queued ones are dropped.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        self._http.clear()


def _take_keys(objects: Iterator[Object], count: int) -> list[str]:
    return [obj.object_name for obj in itertools.islice(objects, count) if obj.object_name]
