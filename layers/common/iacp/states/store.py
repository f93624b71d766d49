"""State versions live in the workspaces table under their workspace (``sk = "sv#<id>"``); the
workspace item points at the current one. The pointer only moves forward: a state version
whose serial is not greater than the current one is refused. And only the run that holds the
workspace (its queue: ``current_run_id``) moves it: once a run has given the workspace back,
the next run may be planning against the current state, and a late recording of the earlier
run's state (a retried or swept reconcile) must not change it under that plan."""

from typing import TYPE_CHECKING, Any, Protocol

from iacp.aws import dynamodb_table
from iacp.dynamo import TransactionCanceled, transact_write
from iacp.states.models import StateVersion
from iacp.timestamps import from_iso, to_iso
from iacp.workspaces.store import WORKSPACE_SK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class StateRefused(Exception):
    """The state version cannot become the workspace's current one."""


class StaleState(StateRefused):
    """The workspace already has a state at least as new as the one being recorded."""


class WorkspaceMovedOn(StateRefused):
    """The run that wrote the state no longer holds its workspace."""


class StateStore(Protocol):
    def add_current(self, version: StateVersion) -> None: ...
    def current(self, workspace_id: str) -> StateVersion | None: ...


class DynamoStateStore:
    def __init__(self, table_name: str):
        self._table: Table = dynamodb_table(table_name)
        self._name = table_name

    def add_current(self, version: StateVersion) -> None:
        try:
            transact_write(
                [
                    {
                        "Put": {
                            "TableName": self._name,
                            "Item": {
                                "pk": version.workspace_id,
                                "sk": f"sv#{version.id}",
                                "id": version.id,
                                "run_id": version.run_id,
                                "serial": version.serial,
                                "lineage": version.lineage,
                                "partial": version.partial,
                                "created_at": to_iso(version.created_at),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._name,
                            "Key": {"pk": version.workspace_id, "sk": WORKSPACE_SK},
                            "UpdateExpression": (
                                "SET current_state_version_id = :sv, current_state_serial = :serial"
                            ),
                            "ConditionExpression": (
                                "attribute_exists(pk) AND current_run_id = :run AND ("
                                "attribute_not_exists(current_state_serial)"
                                " OR current_state_serial < :serial)"
                            ),
                            "ExpressionAttributeValues": {
                                ":sv": version.id,
                                ":serial": version.serial,
                                ":run": version.run_id,
                            },
                        }
                    },
                ]
            )
        except TransactionCanceled as canceled:
            raise self._refusal(version) from canceled

    def _refusal(self, version: StateVersion) -> StateRefused:
        """Which of the conditions refused ``version``."""
        workspace = self._table.get_item(
            Key={"pk": version.workspace_id, "sk": WORKSPACE_SK},
            ProjectionExpression="current_run_id",
            ConsistentRead=True,
        ).get("Item")
        if not workspace or workspace.get("current_run_id") != version.run_id:
            return WorkspaceMovedOn(
                f"run {version.run_id} no longer holds workspace {version.workspace_id}"
            )
        return StaleState(
            f"serial {version.serial} is not newer than the workspace's current state"
        )

    def current(self, workspace_id: str) -> StateVersion | None:
        workspace = self._table.get_item(
            Key={"pk": workspace_id, "sk": WORKSPACE_SK},
            ProjectionExpression="current_state_version_id",
            ConsistentRead=True,
        ).get("Item")
        if not workspace or "current_state_version_id" not in workspace:
            return None
        version_id = str(workspace["current_state_version_id"])
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": f"sv#{version_id}"}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _version(workspace_id, item)


def _version(workspace_id: str, item: dict[str, Any]) -> StateVersion:
    return StateVersion(
        id=str(item["id"]),
        workspace_id=workspace_id,
        run_id=str(item["run_id"]),
        serial=int(item["serial"]),
        lineage=str(item["lineage"]),
        partial=bool(item.get("partial", False)),
        created_at=from_iso(str(item["created_at"])),
    )
