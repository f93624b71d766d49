"""The artifacts bucket as objects by key: what runs, state versions and configuration
versions keep there (docs/run-pipeline.md). Services take the ``ArtifactStore`` protocol;
``S3ArtifactStore`` is the only code that calls S3 for them (tests use an in-memory fake)."""

from typing import Any, Protocol

from botocore.exceptions import ClientError, WaiterError

from iacp.aws import is_missing_object, presigning_s3_client, s3_client

DOWNLOAD_URL_SECONDS = 300
UPLOAD_URL_SECONDS = 3600


class ObjectMissing(LookupError):
    """There is no object at the key the caller needs."""


class ObjectTooLarge(Exception):
    """The object is larger than the caller will read into memory."""

    def __init__(self, key: str, size: int):
        super().__init__(f"{key} holds {size} bytes")
        self.key = key
        self.size = size


class ArtifactStore(Protocol):
    @property
    def bucket(self) -> str: ...
    def put(self, key: str, body: bytes) -> None: ...
    def get(self, key: str, *, max_bytes: int | None = None) -> bytes | None: ...
    def head(self, key: str, length: int) -> bytes | None: ...
    def exists(self, key: str) -> bool: ...
    def copy(self, source_key: str, key: str) -> None: ...
    def sizes(self, prefix: str) -> dict[str, int]: ...
    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool: ...
    def download_url(self, key: str) -> str: ...
    def upload_url(self, key: str) -> str: ...


class S3ArtifactStore:
    def __init__(self, bucket: str):
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, body: bytes) -> None:
        s3_client().put_object(Bucket=self._bucket, Key=key, Body=body)

    def get(self, key: str, *, max_bytes: int | None = None) -> bytes | None:
        """The object's bytes; ``None`` when there is none (yet). Over ``max_bytes``, raises
        ``ObjectTooLarge`` without reading the body (the size comes with the reply)."""
        reply = self._get_object(key)
        if reply is None:
            return None
        if max_bytes is not None and reply["ContentLength"] > max_bytes:
            reply["Body"].close()
            raise ObjectTooLarge(key, reply["ContentLength"])
        body: bytes = reply["Body"].read()
        return body

    def head(self, key: str, length: int) -> bytes | None:
        """The object's first ``length`` bytes (fewer if it is shorter); ``None`` if absent."""
        reply = self._get_object(key, Range=f"bytes=0-{length - 1}")
        if reply is None:
            return None
        body: bytes = reply["Body"].read()
        return body

    def _get_object(self, key: str, **request: Any) -> Any:
        """S3's GetObject reply (its body not yet read), or None when there is no object."""
        try:
            return s3_client().get_object(Bucket=self._bucket, Key=key, **request)
        except ClientError as error:
            if is_missing_object(error):
                return None
            raise

    def exists(self, key: str) -> bool:
        try:
            s3_client().head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if is_missing_object(error):
                return False
            raise
        return True

    def copy(self, source_key: str, key: str) -> None:
        s3_client().copy_object(
            Bucket=self._bucket, Key=key, CopySource={"Bucket": self._bucket, "Key": source_key}
        )

    def sizes(self, prefix: str) -> dict[str, int]:
        """The key and size of every object under ``prefix``."""
        found: dict[str, int] = {}
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["Size"]
        return found

    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool:
        """Wait until ``key`` exists (boto3's waiter), at most ``timeout_seconds``."""
        waiter = s3_client().get_waiter("object_exists")
        try:
            waiter.wait(
                Bucket=self._bucket,
                Key=key,
                WaiterConfig={
                    "Delay": poll_seconds,
                    "MaxAttempts": max(1, timeout_seconds // poll_seconds),
                },
            )
        except WaiterError:
            return False
        return True

    def download_url(self, key: str) -> str:
        """A short-lived presigned GET of one object."""
        return presigning_s3_client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=DOWNLOAD_URL_SECONDS,
        )

    def upload_url(self, key: str) -> str:
        """A presigned PUT of one object: the client uploads without passing through us."""
        return presigning_s3_client().generate_presigned_url(
            "put_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=UPLOAD_URL_SECONDS
        )
