"""A run's files in the artifacts bucket (docs/run-pipeline.md): what the runner wrote, read
back for the workflow and the API."""

from botocore.exceptions import ClientError, WaiterError

from iacp.aws import is_missing_object, presigning_s3_client, s3_client
from iacp.documents import StoredDocument
from iacp.runs.models import LogPage
from iacp.runs.phase import Phase, PhaseResult, log_prefix, result_key

MAX_LOG_PAGE_BYTES = 1_000_000  # keeps a reply well inside Lambda's 6 MB limit
MAX_INLINE_DOCUMENT_BYTES = 4_000_000  # larger ones are redirected to (Lambda replies ≤ 6 MB)
DOWNLOAD_URL_SECONDS = 300


class RunArtifacts:
    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        s3_client().put_object(Bucket=self.bucket, Key=key, Body=body)

    def result(self, run_id: str, phase: Phase) -> PhaseResult | None:
        body = self._get(result_key(run_id, phase))
        return None if body is None else PhaseResult.model_validate_json(body)

    def document(self, key: str) -> StoredDocument | None:
        """The JSON document at ``key`` as a reply; ``None`` when there is none (yet)."""
        try:
            reply = s3_client().get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if is_missing_object(error):
                return None
            raise
        # One request: the size comes with the reply, and a large body is never read.
        if reply["ContentLength"] > MAX_INLINE_DOCUMENT_BYTES:
            reply["Body"].close()
            return StoredDocument(url=self.download_url(key))
        return StoredDocument(body=reply["Body"].read())

    def download_url(self, key: str) -> str:
        """A short-lived presigned GET of one object."""
        return presigning_s3_client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=DOWNLOAD_URL_SECONDS,
        )

    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool:
        """Wait until ``key`` exists (boto3's waiter), at most ``timeout_seconds``."""
        waiter = s3_client().get_waiter("object_exists")
        try:
            waiter.wait(
                Bucket=self.bucket,
                Key=key,
                WaiterConfig={
                    "Delay": poll_seconds,
                    "MaxAttempts": max(1, timeout_seconds // poll_seconds),
                },
            )
        except WaiterError:
            return False
        return True

    def logs(self, run_id: str, phase: Phase, offset: int) -> LogPage:
        """The phase's log from byte ``offset``: chunks are named by the offset of their first
        byte, so a follower asks again with ``next_offset`` until ``complete``."""
        prefix = log_prefix(run_id, phase)
        chunks: list[tuple[int, str, int]] = []
        complete = False
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"].removeprefix(prefix)
                if name == "complete":
                    complete = True
                elif name.isdigit():
                    chunks.append((int(name), item["Key"], item["Size"]))
        chunks.sort()
        data = bytearray()
        position = offset
        for start, key, size in chunks:
            if start + size <= position:
                continue
            if start > position or len(data) >= MAX_LOG_PAGE_BYTES:
                break  # a gap: the chunk before it is still being written
            body = s3_client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
            piece = body[position - start :]
            data += piece
            position += len(piece)
        last = chunks[-1][0] + chunks[-1][2] if chunks else 0
        return LogPage(
            data=data.decode("utf-8", errors="replace"),
            next_offset=position,
            complete=complete and position >= last,
        )

    def _get(self, key: str) -> bytes | None:
        try:
            body: bytes = s3_client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if is_missing_object(error):
                return None
            raise
        return body
