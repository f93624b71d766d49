"""State versions: the Terraform state a workspace's applies wrote, kept in S3."""

import hashlib
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from iacp.model import Model
from iacp.timestamps import UtcDatetime


class StateOutput(Model):
    value: Any = Field(description="null when the output is sensitive")
    sensitive: bool
    type: Any = None


class NamedStateOutput(StateOutput):
    """An output of ``GET /state-versions/{id}/outputs``."""

    name: str
    value: Any = Field(
        description="A sensitive output's value only for tokens with the admin role, else null"
    )


class StateVersionStatus(StrEnum):
    """``pending``: a client's state version whose file is not uploaded yet (it is not
    current, nor in the history); ``finalized``: recorded; ``discarded``: an upload that
    did not check out, or came too late, and never became current."""

    PENDING = "pending"
    FINALIZED = "finalized"
    DISCARDED = "discarded"


class StateVersionSummary(Model):
    """A state version as the workspace's history lists it."""

    id: str
    created_at: UtcDatetime
    workspace_id: str
    run_id: str | None = Field(
        description="The run whose apply wrote this state; null for a rollback's version"
    )
    rolled_back_from: str | None = Field(
        None, description="A rollback's version: the state version whose content it restored"
    )
    serial: int
    lineage: str
    partial: bool = Field(
        False,
        description="What an apply had saved when it failed, was canceled or its runner died",
    )
    resource_count: int | None = Field(
        None,
        description="Managed resource instances in the state (null: recorded before the "
        "history kept it)",
    )
    output_names: list[str] = Field(default_factory=list, description="The state's outputs")
    status: StateVersionStatus = StateVersionStatus.FINALIZED
    md5: str | None = Field(
        None, description="MD5 of the state file, hex (null: recorded before it was kept)"
    )
    size: int | None = Field(None, description="The state file's size in bytes")
    terraform_version: str | None = Field(
        None, description="The Terraform version that wrote the state"
    )


class StateVersion(StateVersionSummary):
    outputs: dict[str, StateOutput] = Field(default_factory=dict)
    download_url: str | None = Field(
        None, description="Presigned GET of the state file, for tokens with write access"
    )

    def summary(self) -> StateVersionSummary:
        return StateVersionSummary.model_validate(
            self.model_dump(exclude={"outputs", "download_url"})
        )


StateVersionId = Annotated[str, StringConstraints(pattern=r"^sv-[A-Za-z0-9]{1,64}$")]


class StateVersionCreate(Model):
    """``POST /workspaces/{ws}/state-versions``: today only a rollback."""

    model_config = ConfigDict(extra="forbid")

    rollback_to: StateVersionId = Field(
        description="A state version of this workspace: its content becomes the new current "
        "state, with the next serial"
    )


class PendingState(Model):
    """A state version a client announced without its file (Terraform 1.6+ uploads it to a
    presigned URL): what it declared, and what its recording will be conditional on."""

    version: StateVersion
    holder: str = Field(description="The token that created it, and must hold the lock")
    replaces: str | None = Field(description="The current version when it was created")
    force: bool = False


class StatePush(Model):
    """A state version written by a client (``terraform state push``, a local-execution
    apply): what it declares, and the state file when it sends it inline."""

    serial: int = Field(ge=0)
    md5: str
    lineage: str | None = None
    force: bool = False
    state: bytes | None = None


class StateUpload(Model):
    """A pending version and where its client uploads the state file and its JSON form."""

    version: StateVersion
    upload_url: str
    json_upload_url: str


class StateFile(Model):
    """A state file's bytes with what the history keeps of them."""

    body: bytes
    state: dict[str, Any]

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()

    def facts(self) -> dict[str, Any]:
        """The version's attributes that come from the file."""
        resource_count, output_names = state_facts(self.state)
        version = self.state.get("terraform_version")
        return {
            "resource_count": resource_count,
            "output_names": output_names,
            "md5": self.md5,
            "size": len(self.body),
            "terraform_version": None if version is None else str(version),
        }


def state_key(workspace_id: str, state_version_id: str) -> str:
    return f"state/{workspace_id}/{state_version_id}.tfstate"


def upload_key(workspace_id: str, state_version_id: str) -> str:
    """Where a client uploads a pending version's state file. Not the version's own key: the
    presigned URL outlives the recording, and a later PUT must change nothing recorded."""
    return f"state/{workspace_id}/uploads/{state_version_id}.tfstate"


def json_upload_key(workspace_id: str, state_version_id: str) -> str:
    return f"state/{workspace_id}/uploads/{state_version_id}.json"


def state_facts(state: dict[str, Any]) -> tuple[int, list[str]]:
    """What the history keeps of a state file: its managed resource instances (data sources
    are reads, not things the workspace manages) and its outputs' names."""
    count = sum(
        len(resource.get("instances") or [])
        for resource in state.get("resources") or []
        if resource.get("mode", "managed") == "managed"
    )
    return count, sorted(state.get("outputs") or {})
