"""ConfigurationStore: the same cases against the in-memory fake and the DynamoDB store."""

import pytest

from iacp.configurations.models import CommitSource, ConfigurationStatus, ConfigurationVersion
from iacp.errors import NotFound
from tests.contract.conftest import NOW, Stores, workspace


def version(version_id: str, **fields: object) -> ConfigurationVersion:
    return ConfigurationVersion.model_validate(
        {"id": version_id, "created_at": NOW, "workspace_id": "ws-1", "status": "pending"} | fields
    )


def test_a_version_is_added_once_and_becomes_the_latest(stores: Stores):
    stores.workspaces.create(workspace())
    first = version("cv-1")
    assert stores.configurations.latest_id("ws-1") is None

    assert stores.configurations.add(first) is True
    assert stores.configurations.add(first) is False
    assert stores.configurations.get("ws-1", "cv-1") == first
    assert stores.configurations.get("ws-1", "cv-2") is None
    assert stores.configurations.latest_id("ws-1") == "cv-1"


def test_a_version_not_latest_leaves_the_latest_alone(stores: Stores):
    stores.workspaces.create(workspace())
    stores.configurations.add(version("cv-1"))
    source = CommitSource.model_validate(
        {
            "provider": "github",
            "connection_id": "vcs-1",
            "repository": "acme/infra",
            "clone_url": "https://github.com/acme/infra.git",
            "branch": "main",
            "commit_sha": "a" * 40,
        }
    )

    stores.configurations.add(version("cv-pr", vcs=source), latest=False)

    assert stores.configurations.latest_id("ws-1") == "cv-1"
    stored = stores.configurations.get("ws-1", "cv-pr")
    assert stored is not None and stored.vcs == source


def test_a_version_needs_its_workspace(stores: Stores):
    with pytest.raises(NotFound):
        stores.configurations.add(version("cv-1"))
    assert stores.configurations.latest_id("ws-1") is None


def test_a_pending_version_is_settled_once(stores: Stores):
    stores.workspaces.create(workspace())
    pending = version("cv-1")
    stores.configurations.add(pending)

    stores.configurations.mark(pending, ConfigurationStatus.UPLOADED)
    stores.configurations.mark(pending, ConfigurationStatus.ERRORED)  # settled already

    stored = stores.configurations.get("ws-1", "cv-1")
    assert stored is not None and stored.status is ConfigurationStatus.UPLOADED


def test_versions_go_with_their_workspace(stores: Stores):
    ws = workspace()
    stores.workspaces.create(ws)
    stores.configurations.add(version("cv-1"))

    stores.workspaces.delete(ws)

    assert stores.configurations.get("ws-1", "cv-1") is None
    assert stores.configurations.latest_id("ws-1") is None


def test_a_version_is_found_by_its_id_alone_with_its_tfe_flags(stores: Stores):
    stores.workspaces.create(workspace())
    speculative = version("cv-1", speculative=True, provisional=True)

    stores.configurations.add(speculative, latest=False)

    assert stores.configurations.workspace_of("cv-1") == "ws-1"
    assert stores.configurations.workspace_of("cv-2") is None
    assert stores.configurations.get("ws-1", "cv-1") == speculative
    assert stores.configurations.latest_id("ws-1") is None
