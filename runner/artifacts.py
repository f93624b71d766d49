"""The run's objects in the artifacts bucket, at the keys of ``iacp.runs.phase``."""

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from iacp.aws import is_missing_object

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef


class Artifacts:
    def __init__(self, s3: "S3Client", bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def download(self, key: str, path: Path) -> bool:
        """Copy an object to ``path``; False when there is no such object."""
        reply = self._get_object(key)
        if reply is None:
            return False
        with reply["Body"] as body, path.open("wb") as file:
            shutil.copyfileobj(body, file)
        return True

    def upload(self, path: Path, key: str) -> None:
        self._s3.upload_file(str(path), self._bucket, key)

    def put(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        reply = self._get_object(key)
        if reply is None:
            return None
        with reply["Body"] as body:
            return body.read()

    def get_json(self, key: str) -> Any:
        """The object's JSON, or None when there is no such object."""
        body = self.get(key)
        return None if body is None else json.loads(body)

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
