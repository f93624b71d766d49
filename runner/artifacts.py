"""The run's objects in the artifacts bucket, at the keys of ``iacp.runs.phase``.

A phase's requests are small and independent, and each waits a round trip: what a phase
reads is asked for side by side when it starts (``prefetch``), and what it writes together is
written side by side (``put_all``), by a few threads sharing the phase's S3 client (botocore
clients are safe to share between threads). A prefetched object waits in a spooled temporary
file: in memory while small, on disk beyond that (a state or plan may be large).
"""

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from botocore.exceptions import ClientError

from iacp.aws import is_missing_object

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

# At most this many requests of a phase at once: about what one phase reads or writes together.
MAX_CONCURRENT_REQUESTS = 8
# A prefetched object larger than this waits on disk, not in memory.
PREFETCH_IN_MEMORY_BYTES = 1 << 20

_Spooled = tempfile.SpooledTemporaryFile[bytes]
_Body: TypeAlias = "_Spooled | StreamingBody"  # either is read once, and closed by ``with``


class Artifacts:
    def __init__(self, s3: "S3Client", bucket: str):
        self._s3 = s3
        self._bucket = bucket
        self._pool: ThreadPoolExecutor | None = None  # started on first use
        self._prefetched: dict[str, Future[_Spooled | None]] = {}

    def prefetch(self, keys: Iterable[str]) -> None:
        """Start reading ``keys`` side by side. The next ``get`` or ``download`` of one takes
        what was read (or raises what reading it raised) instead of asking S3 again."""
        for key in keys:
            if key not in self._prefetched:
                self._prefetched[key] = self._threads().submit(self._spool, key)

    def download(self, key: str, path: Path) -> bool:
        """Copy an object to ``path``; False when there is no such object."""
        body = self._open(key)
        if body is None:
            return False
        with body, path.open("wb") as file:
            shutil.copyfileobj(body, file)
        return True

    def upload(self, path: Path, key: str) -> None:
        self._s3.upload_file(str(path), self._bucket, key)

    def put(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)

    def put_all(self, objects: Mapping[str, Path | bytes]) -> None:
        """Write each object (key: a file, or bytes) side by side; once all have ended, raise
        the first failure, if any."""
        writes = [self._threads().submit(self._write, key, body) for key, body in objects.items()]
        wait(writes)
        for write in writes:
            write.result()

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        body = self._open(key)
        if body is None:
            return None
        with body:
            read: bytes = body.read()
        return read

    def get_json(self, key: str) -> Any:
        """The object's JSON, or None when there is no such object."""
        body = self.get(key)
        return None if body is None else json.loads(body)

    def close(self) -> None:
        """Stop the threads; a read nobody took is dropped (its file removed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        for read in self._prefetched.values():
            read.add_done_callback(_close_spooled)
        self._prefetched.clear()

    def _write(self, key: str, body: Path | bytes) -> None:
        if isinstance(body, Path):
            self.upload(body, key)
        else:
            self.put(key, body)

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(MAX_CONCURRENT_REQUESTS, "artifacts")
        return self._pool

    def _open(self, key: str) -> "_Body | None":
        """The object's body, to read once: what was prefetched, or else S3's own stream."""
        if key in self._prefetched:
            return self._prefetched.pop(key).result()
        return self._stream(key)

    def _spool(self, key: str) -> "_Spooled | None":
        stream = self._stream(key)
        if stream is None:
            return None
        spooled = tempfile.SpooledTemporaryFile(PREFETCH_IN_MEMORY_BYTES)  # noqa: SIM115
        try:
            with stream:
                shutil.copyfileobj(stream, spooled)
        except BaseException:
            spooled.close()
            raise
        spooled.seek(0)
        return spooled

    def _stream(self, key: str) -> "StreamingBody | None":
        reply = self._get_object(key)
        return None if reply is None else reply["Body"]

    def _get_object(self, key: str) -> "GetObjectOutputTypeDef | None":
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            # The runner may not list the bucket (the listing would name every workspace's
            # objects), and without s3:ListBucket S3 answers a missing key 403, not 404.
            if is_missing_object(error) or _code(error) == "AccessDenied":
                return None
            raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _close_spooled(read: "Future[_Spooled | None]") -> None:
    if not read.cancelled() and read.exception() is None and (spooled := read.result()):
        spooled.close()
