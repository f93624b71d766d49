"""An in-memory ``ArtifactStore``: objects by key; its URLs name the object and are not
meant to be fetched."""

from iacp.artifacts import DOWNLOAD_URL_SECONDS, UPLOAD_URL_SECONDS, ArtifactStore, ObjectTooLarge


class InMemoryArtifactStore:
    def __init__(self, bucket: str = "artifacts") -> None:
        self.objects: dict[str, bytes] = {}
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, body: bytes) -> None:
        self.objects[key] = bytes(body)

    def get(self, key: str, *, max_bytes: int | None = None) -> bytes | None:
        body = self.objects.get(key)
        if body is not None and max_bytes is not None and len(body) > max_bytes:
            raise ObjectTooLarge(key, len(body))
        return body

    def head(self, key: str, length: int) -> bytes | None:
        body = self.objects.get(key)
        return None if body is None else body[:length]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def copy(self, source_key: str, key: str) -> None:
        if source_key not in self.objects:
            raise KeyError(source_key)  # S3: NoSuchKey
        self.objects[key] = self.objects[source_key]

    def sizes(self, prefix: str) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self.objects.items()) if k.startswith(prefix)}

    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool:
        return key in self.objects  # nobody else writes while a test waits

    def download_url(self, key: str) -> str:
        return f"https://{self._bucket}.s3.example/{key}?method=GET&expires={DOWNLOAD_URL_SECONDS}"

    def upload_url(self, key: str) -> str:
        return f"https://{self._bucket}.s3.example/{key}?method=PUT&expires={UPLOAD_URL_SECONDS}"


_: ArtifactStore = InMemoryArtifactStore()
