"""Configuration versions live in the workspaces table under their workspace
(``sk = "cv#<id>"``); the workspace item names the latest one."""

from typing import Any, Protocol

from iacp.configurations.models import CommitSource, ConfigurationStatus, ConfigurationVersion
from iacp.dynamo import TransactionCanceled, conditionally, transact_write
from iacp.errors import NotFound
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso
from iacp.workspaces.store import WORKSPACE_SK

VERSION_POINTER_SK = "configuration-version"


class ConfigurationStore(Protocol):
    def add(self, version: ConfigurationVersion, *, latest: bool = True) -> bool: ...
    def get(self, workspace_id: str, version_id: str) -> ConfigurationVersion | None: ...
    def latest_id(self, workspace_id: str) -> str | None: ...
    def mark(self, version: ConfigurationVersion, status: ConfigurationStatus) -> None: ...
    def workspace_of(self, version_id: str) -> str | None: ...


class DynamoConfigurationStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def add(self, version: ConfigurationVersion, *, latest: bool = True) -> bool:
        """Store the version and, unless ``latest`` is False (a pull request's), make it the
        workspace's latest, in one transaction. False when the version exists already (a
        derived id, made again)."""
        item: dict[str, Any] = {
            "pk": version.workspace_id,
            "sk": f"cv#{version.id}",
            "id": version.id,
            "status": version.status.value,
            "created_at": to_iso(version.created_at),
        }
        if version.vcs is not None:
            item["vcs"] = version.vcs.model_dump(mode="json", exclude_none=True)
        for flag in ("speculative", "provisional"):
            if getattr(version, flag):
                item[flag] = True
        workspace_exists: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"pk": version.workspace_id, "sk": WORKSPACE_SK},
            "ConditionExpression": "attribute_exists(pk)",
        }
        if latest:
            write = {
                "Update": workspace_exists
                | {
                    "UpdateExpression": "SET latest_configuration_version_id = :cv",
                    "ExpressionAttributeValues": {":cv": version.id},
                }
            }
        else:
            write = {"ConditionCheck": workspace_exists}
        try:
            transact_write(
                [
                    write,
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {  # finds the version by its id alone (TFE's /configuration-versions/{id})
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {
                                "pk": version.id,
                                "sk": VERSION_POINTER_SK,
                                "workspace_id": version.workspace_id,
                            },
                        }
                    },
                ]
            )
        except TransactionCanceled as canceled:
            if canceled.failed[0]:
                raise NotFound(f"No workspace {version.workspace_id}.") from canceled
            return False
        return True

    def get(self, workspace_id: str, version_id: str) -> ConfigurationVersion | None:
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": f"cv#{version_id}"}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _version(item)

    def latest_id(self, workspace_id: str) -> str | None:
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": WORKSPACE_SK},
            ProjectionExpression="latest_configuration_version_id",
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else item.get("latest_configuration_version_id")

    def workspace_of(self, version_id: str) -> str | None:
        """The workspace of a version, from its id alone (versions made before these
        pointers existed have none: None)."""
        item = self._table.get_item(
            Key={"pk": version_id, "sk": VERSION_POINTER_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["workspace_id"])

    def mark(self, version: ConfigurationVersion, status: ConfigurationStatus) -> None:
        """Settle a pending version; a version already settled (by a concurrent request that
        saw the same upload) is left as it is."""
        conditionally(
            lambda: self._table.update_item(
                Key={"pk": version.workspace_id, "sk": f"cv#{version.id}"},
                UpdateExpression="SET #status = :status",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": status.value,
                    ":pending": ConfigurationStatus.PENDING.value,
                },
            )
        )


def _version(item: dict[str, Any]) -> ConfigurationVersion:
    return ConfigurationVersion(
        id=str(item["id"]),
        workspace_id=str(item["pk"]),
        status=ConfigurationStatus(str(item["status"])),
        created_at=from_iso(str(item["created_at"])),
        vcs=None if "vcs" not in item else CommitSource.model_validate(item["vcs"]),
        speculative=bool(item.get("speculative", False)),
        provisional=bool(item.get("provisional", False)),
    )
