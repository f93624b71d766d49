"""A phase's S3 requests side by side (runner.artifacts): what it reads is asked for once, at
its start, and what it writes together is written together."""

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iacp.runs.phase import (
    Phase,
    lock_file_key,
    plan_file_key,
    result_key,
    terraform_dir_key,
)
from iacp.variables.handoff import variables_key
from runner.artifacts import PREFETCH_IN_MEMORY_BYTES, Artifacts
from runner.steps import objects_read
from tests.runner.conftest import runner_settings

# Far longer than any request here takes; a barrier that times out fails the test.
BARRIER_SECONDS = 30.0


class FakeS3:
    """S3 as the runner calls it, counting requests; ``together``: each request waits until
    that many are in flight at once (a barrier), so requests made one after another fail."""

    def __init__(self, objects: dict[str, bytes], together: int = 1):
        self.objects = dict(objects)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(together, timeout=BARRIER_SECONDS)

    def _request(self, operation: str, key: str) -> None:
        with self._lock:
            self.requests.append((operation, key))
        if self._barrier.parties > 1:
            self._barrier.wait()

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self._request("get", Key)
        if Key == "forbidden":
            raise ClientError({"Error": {"Code": "InternalError"}}, "GetObject")
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
        self._request("put", Key)
        self.objects[Key] = Body

    def upload_file(self, Filename: str, Bucket: str, Key: str) -> None:
        self._request("put", Key)
        self.objects[Key] = Path(Filename).read_bytes()


def artifacts_of(s3: FakeS3) -> Artifacts:
    return Artifacts(s3, "bucket")  # type: ignore[arg-type]


def test_what_is_written_together_is_written_side_by_side(tmp_path: Path) -> None:
    s3 = FakeS3({}, together=3)
    plan = tmp_path / "tfplan"
    plan.write_bytes(b"plan")

    artifacts_of(s3).put_all({"a/tfplan": plan, "a/plan.json": b"{}", "a/changes.json": b"[]"})

    assert s3.objects == {"a/tfplan": b"plan", "a/plan.json": b"{}", "a/changes.json": b"[]"}
    assert sorted(s3.requests) == [
        ("put", "a/changes.json"),
        ("put", "a/plan.json"),
        ("put", "a/tfplan"),
    ]


def test_a_write_that_fails_fails_them_all_after_the_others_ended(tmp_path: Path) -> None:
    s3 = FakeS3({})

    with pytest.raises(FileNotFoundError):
        artifacts_of(s3).put_all({"a/missing": tmp_path / "missing", "a/written": b"x"})

    assert s3.objects == {"a/written": b"x"}


def test_what_a_phase_reads_is_asked_for_once_side_by_side(tmp_path: Path) -> None:
    s3 = FakeS3({"config": b"tar", "vars": b"sealed"}, together=3)
    artifacts = artifacts_of(s3)

    artifacts.prefetch(["config", "vars", "no-state"])

    assert artifacts.download("config", tmp_path / "config") is True
    assert (tmp_path / "config").read_bytes() == b"tar"
    assert artifacts.get("vars") == b"sealed"
    assert artifacts.get("no-state") is None  # missing, as without prefetching
    assert sorted(s3.requests) == [("get", "config"), ("get", "no-state"), ("get", "vars")]
    artifacts.close()


def test_a_large_prefetched_object_waits_on_disk_not_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    large = bytes(range(256)) * (PREFETCH_IN_MEMORY_BYTES // 256 + 1)  # a state, a plan
    s3 = FakeS3({"state": large, "small": b"{}"})
    spooled: list[Any] = []
    spool = Artifacts._spool

    def watched(self: Artifacts, key: str) -> Any:
        spooled.append(spool(self, key))
        return spooled[-1]

    monkeypatch.setattr(Artifacts, "_spool", watched)
    artifacts = artifacts_of(s3)

    artifacts.prefetch(["state", "small"])

    assert artifacts.download("state", tmp_path / "state") is True
    assert artifacts.get("small") == b"{}"
    assert (tmp_path / "state").read_bytes() == large
    on_disk = {bool(f._rolled) for f in spooled}
    assert on_disk == {True, False}  # the large one rolled over to a file, the small did not
    assert all(f.closed for f in spooled)  # taken, and gone


def test_a_prefetched_read_that_failed_fails_the_step_that_takes_it() -> None:
    s3 = FakeS3({})
    artifacts = artifacts_of(s3)
    artifacts.prefetch(["forbidden"])

    with pytest.raises(ClientError):
        artifacts.get("forbidden")
    assert artifacts.get("other") is None  # not prefetched: asked for when needed
    assert s3.requests == [("get", "forbidden"), ("get", "other")]


def test_each_phase_reads_at_its_start_what_exists_before_it() -> None:
    state = "state/ws-1/sv-1.tfstate"
    configuration = "configurations/ws-1/cv-1.tar.gz"

    plan = objects_read(runner_settings("plan", IACP_STATE_KEY=state))
    first_plan = objects_read(runner_settings("plan"))
    fetching_plan = objects_read(
        runner_settings(
            "plan",
            IACP_VCS_CLONE_URL="https://git.example/repo.git",
            IACP_VCS_COMMIT="a" * 40,
        )
    )
    apply = objects_read(runner_settings("apply", IACP_STATE_KEY=state))

    assert plan == [configuration, variables_key("run-1", Phase.PLAN), state]
    assert first_plan == [configuration, variables_key("run-1", Phase.PLAN)]
    # The configuration it fetches is not there yet.
    assert fetching_plan == [variables_key("run-1", Phase.PLAN)]
    assert apply == [
        configuration,
        variables_key("run-1", Phase.APPLY),
        state,
        result_key("run-1", Phase.PLAN),
        plan_file_key("run-1"),
        lock_file_key("run-1"),
        terraform_dir_key("run-1"),
    ]
