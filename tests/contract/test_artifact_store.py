"""ArtifactStore: the same cases against the in-memory fake and S3ArtifactStore (moto)."""

import pytest

from iacp.artifacts import ObjectTooLarge
from tests.contract.conftest import Stores


def test_an_object_is_read_back_as_written(stores: Stores):
    objects = stores.artifacts
    assert objects.get("runs/run-1/plan.json") is None
    assert objects.exists("runs/run-1/plan.json") is False

    objects.put("runs/run-1/plan.json", b'{"a": 1}')

    assert objects.get("runs/run-1/plan.json") == b'{"a": 1}'
    assert objects.exists("runs/run-1/plan.json") is True
    assert objects.head("runs/run-1/plan.json", 2) == b'{"'
    assert objects.head("runs/run-1/missing", 2) is None


def test_an_object_larger_than_asked_for_is_not_read(stores: Stores):
    stores.artifacts.put("big", b"x" * 10)

    assert stores.artifacts.get("big", max_bytes=10) == b"x" * 10
    with pytest.raises(ObjectTooLarge) as large:
        stores.artifacts.get("big", max_bytes=9)
    assert large.value.size == 10
    assert stores.artifacts.get("absent", max_bytes=9) is None


def test_an_object_is_copied_and_listed_by_prefix(stores: Stores):
    stores.artifacts.put("runs/run-1/state.tfstate", b"state")
    stores.artifacts.put("runs/run-1/logs/plan/0", b"hello")
    stores.artifacts.put("runs/run-2/logs/plan/0", b"other")

    stores.artifacts.copy("runs/run-1/state.tfstate", "state/ws-1/sv-1.tfstate")

    assert stores.artifacts.get("state/ws-1/sv-1.tfstate") == b"state"
    assert stores.artifacts.sizes("runs/run-1/") == {
        "runs/run-1/state.tfstate": 5,
        "runs/run-1/logs/plan/0": 5,
    }


def test_waiting_for_an_object_that_exists_returns_at_once(stores: Stores):
    stores.artifacts.put("runs/run-1/plan/result.json", b"{}")

    assert stores.artifacts.wait_for("runs/run-1/plan/result.json", 1) is True
    assert stores.artifacts.wait_for("runs/run-1/apply/result.json", 1) is False


def test_urls_name_their_object(stores: Stores):
    assert "runs/run-1/plan.json" in stores.artifacts.download_url("runs/run-1/plan.json")
    assert "configurations/ws-1/cv-1.tar.gz" in stores.artifacts.upload_url(
        "configurations/ws-1/cv-1.tar.gz"
    )
    assert stores.artifacts.bucket
