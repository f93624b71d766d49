"""A run's files in the artifacts bucket (docs/run-pipeline.md): what the runner wrote, read
back for the workflow and the API."""

from iacp.artifacts import ArtifactStore, ObjectTooLarge
from iacp.documents import StoredDocument
from iacp.runs.models import LogPage, Run
from iacp.runs.phase import Phase, PhaseResult, log_prefix, result_key
from iacp.runs.status import RunStatus

MAX_LOG_PAGE_BYTES = 1_000_000  # keeps a reply well inside Lambda's 6 MB limit
MAX_INLINE_DOCUMENT_BYTES = 4_000_000  # larger ones are redirected to (Lambda replies ≤ 6 MB)


class RunArtifacts:
    """A run's files, read and written through the artifact store."""

    def __init__(self, objects: ArtifactStore):
        self.objects = objects

    @property
    def bucket(self) -> str:
        return self.objects.bucket

    def put(self, key: str, body: bytes) -> None:
        self.objects.put(key, body)

    def result(self, run_id: str, phase: Phase) -> PhaseResult | None:
        body = self.objects.get(result_key(run_id, phase))
        return None if body is None else PhaseResult.model_validate_json(body)

    def with_plan_counts(self, run: Run) -> Run:
        """``run`` with its plan's counts. While its post_plan tasks run, a run's plan is over
        but RecordPlan, which comes after them, has not written its counts yet: they are read
        from the plan's result, so that clients (the terraform CLI decides on
        ``has_changes``; a pull request's comment shows the plan) know them."""
        if run.status is not RunStatus.POST_PLAN_RUNNING or run.has_changes is not None:
            return run
        result = self.result(run.id, Phase.PLAN)
        if result is None:
            return run
        return run.model_copy(
            update={
                "has_changes": result.has_changes,
                "resource_additions": result.resource_additions,
                "resource_changes": result.resource_changes,
                "resource_destructions": result.resource_destructions,
            }
        )

    def document(self, key: str) -> StoredDocument | None:
        """The JSON document at ``key`` as a reply; ``None`` when there is none (yet)."""
        try:
            body = self.objects.get(key, max_bytes=MAX_INLINE_DOCUMENT_BYTES)
        except ObjectTooLarge:
            return StoredDocument(url=self.download_url(key))
        return None if body is None else StoredDocument(body=body)

    def download_url(self, key: str) -> str:
        """A short-lived presigned GET of one object."""
        return self.objects.download_url(key)

    def wait_for(self, key: str, timeout_seconds: int, poll_seconds: int = 1) -> bool:
        """Wait until ``key`` exists, at most ``timeout_seconds``."""
        return self.objects.wait_for(key, timeout_seconds, poll_seconds)

    def log_size(self, run_id: str, phase: Phase) -> int:
        """How many bytes of the phase's log are written so far."""
        prefix = log_prefix(run_id, phase)
        return sum(
            size
            for key, size in self.objects.sizes(prefix).items()
            if key.removeprefix(prefix).isdigit()
        )

    def logs(self, run_id: str, phase: Phase, offset: int) -> LogPage:
        """The phase's log from byte ``offset``: chunks are named by the offset of their first
        byte, so a follower asks again with ``next_offset`` until ``complete``."""
        prefix = log_prefix(run_id, phase)
        chunks: list[tuple[int, str, int]] = []
        complete = False
        for key, size in self.objects.sizes(prefix).items():
            name = key.removeprefix(prefix)
            if name == "complete":
                complete = True
            elif name.isdigit():
                chunks.append((int(name), key, size))
        chunks.sort()
        data = bytearray()
        position = offset
        for start, key, size in chunks:
            if start + size <= position:
                continue
            if start > position or len(data) >= MAX_LOG_PAGE_BYTES:
                break  # a gap: the chunk before it is still being written
            body = self.objects.get(key) or b""
            piece = body[position - start :]
            data += piece
            position += len(piece)
        last = chunks[-1][0] + chunks[-1][2] if chunks else 0
        return LogPage(
            data=data.decode("utf-8", errors="replace"),
            next_offset=position,
            complete=complete and position >= last,
        )
