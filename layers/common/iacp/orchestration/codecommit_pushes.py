"""CodeCommit pushes, which arrive as EventBridge events ("CodeCommit Repository State
Change", ``referenceCreated`` / ``referenceUpdated`` of a branch) rather than webhooks:
each CodeCommit connection gets the push as a ``RepositoryEvent``, and ``VcsTriggers`` does
the rest, as for GitHub.

The event names no files, so a push's changed files are read with GetDifferences; when
they cannot be read, every tracking workspace runs (a run too many beats a missed one).
"""

from pydantic import ConfigDict, Field

from iacp.aws import codecommit_client
from iacp.eventbridge import EventBridgeEvent
from iacp.model import Model
from iacp.observability import logger
from iacp.orchestration.vcs_triggers import TriggerReport, VcsTriggers
from iacp.vcs.events import EventKind, RepositoryEvent
from iacp.vcs.models import CODECOMMIT_CLONE_URL_PREFIX, VcsProvider
from iacp.vcs.store import VcsConnectionStore

RULE_EVENTS = ("referenceCreated", "referenceUpdated")


class ReferenceChange(Model):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    event: str
    repository_name: str = Field(alias="repositoryName")
    reference_type: str = Field(alias="referenceType")
    reference_name: str = Field(alias="referenceName")
    reference_full_name: str = Field(alias="referenceFullName")
    commit_id: str = Field(alias="commitId", pattern=r"^[0-9a-f]{40}$")
    old_commit_id: str | None = Field(None, alias="oldCommitId")
    caller_user_arn: str | None = Field(None, alias="callerUserArn")


class RepositoryStateChange(EventBridgeEvent):
    detail: ReferenceChange


def changed_files(repository: str, before: str | None, after: str) -> set[str] | None:
    """The paths a push changed; None when they cannot be known."""
    if not before:
        return None  # a new branch: changed since when?
    paths: set[str] = set()
    try:
        pages = (
            codecommit_client()
            .get_paginator("get_differences")
            .paginate(
                repositoryName=repository, beforeCommitSpecifier=before, afterCommitSpecifier=after
            )
        )
        for page in pages:
            for difference in page.get("differences", []):
                for blob in ("beforeBlob", "afterBlob"):
                    if difference.get(blob, {}).get("path"):
                        paths.add(difference[blob]["path"])
    except Exception as error:  # permissions, throttling, an unknown commit: err toward running
        logger.warning(
            "the push's changed files could not be read; every tracking workspace runs",
            extra={"repository": repository, "error": type(error).__name__},
        )
        return None
    return paths


class CodeCommitPushes:
    def __init__(self, connections: VcsConnectionStore, triggers: VcsTriggers):
        self._connections = connections
        self._triggers = triggers

    def handle(self, change: RepositoryStateChange) -> list[TriggerReport]:
        detail = change.detail
        if detail.reference_type != "branch" or detail.event not in RULE_EVENTS:
            logger.info("reference change ignored", extra={"event": detail.event})
            return []
        connections = self._connections.all(VcsProvider.CODECOMMIT)
        if not connections:
            return []
        name, region, sha = detail.repository_name, change.region, detail.commit_id
        console = (
            f"https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/{name}"
        )
        files = changed_files(name, detail.old_commit_id, sha)
        return [
            self._triggers.handle(
                RepositoryEvent(
                    kind=EventKind.PUSH,
                    provider=VcsProvider.CODECOMMIT,
                    connection_id=record.connection.id,
                    delivery=change.id,
                    repository_names=[name],
                    clone_url=f"{CODECOMMIT_CLONE_URL_PREFIX}{region}://{name}",
                    repository_url=f"{console}/browse?region={region}",
                    branch=detail.reference_name,
                    head_branch=detail.reference_name,
                    ref=detail.reference_full_name,
                    commit_sha=sha,
                    commit_url=f"{console}/commit/{sha}?region={region}",
                    message=f"Push to {name} {detail.reference_name}",
                    sender=detail.caller_user_arn,
                    changed_files=files,
                )
            )
            for record in connections
        ]
