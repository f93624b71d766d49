"""State versions live in the workspaces table; the workspace item points at the current one.

| item | ``pk`` | ``sk`` |
|---|---|---|
| the version | ``ws-...`` | ``sv#<id>`` |
| its place in the history | ``ws-...`` | ``sv-serial#<serial, 20 digits>`` |
| where to find it by id | ``sv-...`` | ``state-version`` (``workspace_id``) |

The first two carry the same attributes (id, run_id or rolled_back_from, serial, lineage,
partial, created_at, resource_count, output_names): the second sorts the history by serial,
so a Query reads it newest first; the third answers ``GET /state-versions/{id}``. All three
are written in one transaction with the workspace's pointer. A workspace's serials are unique:
a version is written only with the pointer, and the pointer only moves forward.

The pointer only moves forward: a state version whose serial is not greater than the current
one is refused. A run's state is recorded only by the run that holds the workspace (its
queue: ``current_run_id``): once a run has given the workspace back, the next run may be
planning against the current state, and a late recording of the earlier run's state (a
retried or swept reconcile) must not change it under that plan. A rollback has no run: it is
recorded only while no run holds the workspace, no one but the caller holds its lock, and the
current version is still the one the rollback was made from (its serial + 1 is the new one).
A client's version (``terraform state push``, a local-execution apply: no run either) is
recorded on the same conditions, except that the client must hold the lock itself.

A client may announce its version first and upload the file afterwards (Terraform 1.6+): the
version's ``sv#<id>`` item and its lookup item are written ``pending`` (with the token that must
hold the lock and the current version it was made from), with no place in the history and no
pointer to it; recording it later rewrites the item as ``finalized`` on condition that it is
still pending, in the same transaction as the history item and the pointer, on the client's
conditions. A pending version that cannot be recorded is ``discarded``.

Versions recorded before the history was kept have only their ``sv#<id>`` item: they are
the current state if nothing newer came, but are neither listed nor found by id.
"""

from typing import Any, Protocol

from boto3.dynamodb.conditions import Key

from iacp.dynamo import TransactionCanceled, conditionally, read_page, transact_write
from iacp.pagination import decode_cursor
from iacp.states.models import PendingState, StateVersion, StateVersionStatus
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso
from iacp.workspaces.store import WORKSPACE_SK

HISTORY_PREFIX = "sv-serial#"
LOOKUP_SK = "state-version"
_LIST_KEY = frozenset({"pk", "sk"})


class StateRefused(Exception):
    """The state version cannot become the workspace's current one."""


class StaleState(StateRefused):
    """The workspace already has a state at least as new as the one being recorded (for a
    rollback: its current state is no longer the one the rollback was made from)."""


class WorkspaceMovedOn(StateRefused):
    """The run that wrote the state no longer holds its workspace."""


class WorkspaceBusy(StateRefused):
    """A rollback or a client's version: a run holds the workspace, or someone else holds its
    lock (a client's version: anyone but the client, nobody included)."""


class StateStore(Protocol):
    def add_current(self, version: StateVersion) -> None: ...
    def add_rollback(self, version: StateVersion, *, replaces: str, holder: str) -> None: ...
    def add_pushed(self, version: StateVersion, *, replaces: str | None, holder: str) -> None: ...
    def add_pending(self, pending: PendingState) -> None: ...
    def pending(self, state_version_id: str) -> PendingState | None: ...
    def finalize(self, version: StateVersion, *, replaces: str | None, holder: str) -> None: ...
    def discard(self, workspace_id: str, state_version_id: str) -> bool: ...
    def current(self, workspace_id: str) -> StateVersion | None: ...
    def get(self, state_version_id: str) -> StateVersion | None: ...
    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[StateVersion], str | None]: ...


def history_sk(serial: int) -> str:
    return f"{HISTORY_PREFIX}{serial:020d}"


class DynamoStateStore:
    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def add_current(self, version: StateVersion) -> None:
        """Record a run's state as the current one (raises ``WorkspaceMovedOn`` or
        ``StaleState``)."""
        if version.run_id is None:
            raise ValueError("a run's state version names its run")
        pointer = {
            "ConditionExpression": (
                "attribute_exists(pk) AND current_run_id = :run AND ("
                "attribute_not_exists(current_state_serial) OR current_state_serial < :serial)"
            ),
            "ExpressionAttributeValues": {":run": version.run_id},
        }
        try:
            transact_write(self._writes(version, pointer))
        except TransactionCanceled as canceled:
            raise self._refusal(version) from canceled

    def add_rollback(self, version: StateVersion, *, replaces: str, holder: str) -> None:
        """Record a rollback's version as the current one, if the current one is still
        ``replaces``, no run holds the workspace and its lock is free or ``holder``'s (raises
        ``StaleState`` or ``WorkspaceBusy``)."""
        pointer = {
            "ConditionExpression": (
                "attribute_exists(pk) AND current_state_version_id = :replaces"
                " AND current_state_serial < :serial AND attribute_not_exists(current_run_id)"
                " AND (attribute_not_exists(#lock) OR #lock.holder = :holder)"
            ),
            "ExpressionAttributeNames": {"#lock": "lock"},
            "ExpressionAttributeValues": {":replaces": replaces, ":holder": holder},
        }
        try:
            transact_write(self._writes(version, pointer))
        except TransactionCanceled as canceled:
            workspace = self._workspace(version.workspace_id)
            lock_holder = (workspace.get("lock") or {}).get("holder")
            if "current_run_id" in workspace or lock_holder not in (None, holder):
                raise WorkspaceBusy(
                    f"workspace {version.workspace_id} is held by a run or locked by someone else"
                ) from canceled
            raise StaleState(
                f"the current state of workspace {version.workspace_id} changed meanwhile"
            ) from canceled

    def add_pushed(self, version: StateVersion, *, replaces: str | None, holder: str) -> None:
        """Record a client's version (no run) as the current one, if the current one is still
        ``replaces`` (None: the workspace has no state yet), no run holds the workspace and
        ``holder`` holds its lock (raises ``StaleState`` or ``WorkspaceBusy``)."""
        self._add_client_version(version, replaces=replaces, holder=holder, pending=False)

    def finalize(self, version: StateVersion, *, replaces: str | None, holder: str) -> None:
        """Record a pending version, now that its file checked out, on the conditions of
        ``add_pushed`` and on condition that it is still pending (raises ``StaleState`` when it
        is not, or ``WorkspaceBusy``)."""
        self._add_client_version(version, replaces=replaces, holder=holder, pending=True)

    def _add_client_version(
        self, version: StateVersion, *, replaces: str | None, holder: str, pending: bool
    ) -> None:
        if version.run_id is not None or version.status is not StateVersionStatus.FINALIZED:
            raise ValueError("a client's recorded state version is finalized and has no run")
        current = (
            "attribute_not_exists(current_state_version_id)"
            if replaces is None
            else "current_state_version_id = :replaces"
        )
        values: dict[str, Any] = {":holder": holder}
        if replaces is not None:
            values[":replaces"] = replaces
        pointer = {
            "ConditionExpression": (
                f"attribute_exists(pk) AND {current} AND attribute_not_exists(current_run_id)"
                " AND (attribute_not_exists(current_state_serial)"
                " OR current_state_serial < :serial) AND #lock.holder = :holder"
            ),
            "ExpressionAttributeNames": {"#lock": "lock"},
            "ExpressionAttributeValues": values,
        }
        try:
            transact_write(self._writes(version, pointer, pending=pending))
        except TransactionCanceled as canceled:
            workspace = self._workspace(version.workspace_id)
            if (
                "current_run_id" in workspace
                or (workspace.get("lock") or {}).get("holder") != holder
            ):
                raise WorkspaceBusy(
                    f"workspace {version.workspace_id} is held by a run or not locked by {holder}"
                ) from canceled
            raise StaleState(
                f"the current state of workspace {version.workspace_id} changed meanwhile"
            ) from canceled

    def add_pending(self, pending: PendingState) -> None:
        """A client's version whose file is still to come: found by id, neither current nor
        in the history."""
        version = pending.version
        if version.status is not StateVersionStatus.PENDING:
            raise ValueError("a pending state version has the status pending")
        item = {
            "pk": version.workspace_id,
            "sk": f"sv#{version.id}",
            **_attributes(version),
            "pending_holder": pending.holder,
            "pending_force": pending.force,
        }
        if pending.replaces is not None:
            item["pending_replaces"] = pending.replaces
        try:
            self._add_pending_items(version, item)
        except TransactionCanceled as canceled:
            raise StaleState(f"workspace {version.workspace_id} is gone") from canceled

    def _add_pending_items(self, version: StateVersion, item: dict[str, Any]) -> None:
        new = "attribute_not_exists(pk)"
        transact_write(
            [
                {
                    "ConditionCheck": {
                        "TableName": self._table.name,
                        "Key": {"pk": version.workspace_id, "sk": WORKSPACE_SK},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {"Put": {"TableName": self._table.name, "Item": item, "ConditionExpression": new}},
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": _lookup_item(version),
                        "ConditionExpression": new,
                    }
                },
            ]
        )

    def pending(self, state_version_id: str) -> PendingState | None:
        """The version if it is pending, with what its recording is conditional on."""
        lookup = self._table.get_item(
            Key={"pk": state_version_id, "sk": LOOKUP_SK}, ConsistentRead=True
        ).get("Item")
        if lookup is None:
            return None
        workspace_id = str(lookup["workspace_id"])
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": f"sv#{state_version_id}"}, ConsistentRead=True
        ).get("Item")
        if item is None or item.get("status") != StateVersionStatus.PENDING:
            return None
        replaces = item.get("pending_replaces")
        return PendingState(
            version=_version(workspace_id, item),
            holder=str(item["pending_holder"]),
            replaces=None if replaces is None else str(replaces),
            force=bool(item.get("pending_force", False)),
        )

    def discard(self, workspace_id: str, state_version_id: str) -> bool:
        """Mark a pending version discarded; False if it was not pending (any more)."""
        discarded = conditionally(
            lambda: self._table.update_item(
                Key={"pk": workspace_id, "sk": f"sv#{state_version_id}"},
                UpdateExpression="SET #status = :discarded",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":discarded": StateVersionStatus.DISCARDED.value,
                    ":pending": StateVersionStatus.PENDING.value,
                },
            )
        )
        return discarded is not None

    def _writes(
        self, version: StateVersion, pointer: dict[str, Any], *, pending: bool = False
    ) -> list[dict[str, Any]]:
        """The version's three items and the move of the workspace's pointer, whose
        ``pointer`` condition decides. A ``pending`` version's item is rewritten on condition
        that it is still pending, and its lookup item is already there."""
        attributes = _attributes(version)
        new = "attribute_not_exists(pk)"
        values = {":sv": version.id, ":serial": version.serial}
        own: dict[str, Any] = (
            {
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":pending": StateVersionStatus.PENDING.value},
            }
            if pending
            else {"ConditionExpression": new}
        )
        lookup = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": _lookup_item(version),
                    "ConditionExpression": new,
                }
            }
        ]
        return [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"pk": version.workspace_id, "sk": f"sv#{version.id}", **attributes},
                    **own,
                }
            },
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        "pk": version.workspace_id,
                        "sk": history_sk(version.serial),
                        **attributes,
                    },
                    "ConditionExpression": new,
                }
            },
            *([] if pending else lookup),
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": version.workspace_id, "sk": WORKSPACE_SK},
                    "UpdateExpression": (
                        "SET current_state_version_id = :sv, current_state_serial = :serial"
                    ),
                    **pointer,
                    "ExpressionAttributeValues": {**pointer["ExpressionAttributeValues"], **values},
                }
            },
        ]

    def _refusal(self, version: StateVersion) -> StateRefused:
        """Which of the conditions refused ``version``."""
        if self._workspace(version.workspace_id).get("current_run_id") != version.run_id:
            return WorkspaceMovedOn(
                f"run {version.run_id} no longer holds workspace {version.workspace_id}"
            )
        return StaleState(
            f"serial {version.serial} is not newer than the workspace's current state"
        )

    def _workspace(self, workspace_id: str) -> dict[str, Any]:
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": WORKSPACE_SK},
            ProjectionExpression="current_run_id, current_state_version_id, #lock",
            ExpressionAttributeNames={"#lock": "lock"},
            ConsistentRead=True,
        ).get("Item")
        return item or {}

    def current(self, workspace_id: str) -> StateVersion | None:
        version_id = self._workspace(workspace_id).get("current_state_version_id")
        return None if version_id is None else self._version(workspace_id, str(version_id))

    def get(self, state_version_id: str) -> StateVersion | None:
        """The state version, wherever it is; None if unknown or its workspace is gone."""
        lookup = self._table.get_item(
            Key={"pk": state_version_id, "sk": LOOKUP_SK}, ConsistentRead=True
        ).get("Item")
        if lookup is None:
            return None
        return self._version(str(lookup["workspace_id"]), state_version_id)

    def _version(self, workspace_id: str, version_id: str) -> StateVersion | None:
        item = self._table.get_item(
            Key={"pk": workspace_id, "sk": f"sv#{version_id}"}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _version(workspace_id, item)

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[StateVersion], str | None]:
        """A page of the workspace's state versions, newest (highest serial) first."""
        start = decode_cursor(
            cursor,
            _LIST_KEY,
            within=lambda key: key["pk"] == workspace_id and key["sk"].startswith(HISTORY_PREFIX),
        )
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(workspace_id)
            & Key("sk").begins_with(HISTORY_PREFIX),
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        items, next_cursor = read_page(self._table.query, request, start)
        return [_version(workspace_id, item) for item in items], next_cursor


def _lookup_item(version: StateVersion) -> dict[str, Any]:
    return {"pk": version.id, "sk": LOOKUP_SK, "workspace_id": version.workspace_id}


def _attributes(version: StateVersion) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "id": version.id,
        "serial": version.serial,
        "lineage": version.lineage,
        "partial": version.partial,
        "created_at": to_iso(version.created_at),
        "output_names": list(version.output_names),
        "status": version.status.value,
    }
    optional = {
        "run_id": version.run_id,
        "rolled_back_from": version.rolled_back_from,
        "resource_count": version.resource_count,
        "md5": version.md5,
        "size": version.size,
        "terraform_version": version.terraform_version,
    }
    attributes.update({name: value for name, value in optional.items() if value is not None})
    return attributes


def _version(workspace_id: str, item: dict[str, Any]) -> StateVersion:
    def optional(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value)

    count = item.get("resource_count")
    size = item.get("size")
    return StateVersion(
        id=str(item["id"]),
        workspace_id=workspace_id,
        run_id=optional("run_id"),
        rolled_back_from=optional("rolled_back_from"),
        serial=int(item["serial"]),
        lineage=str(item["lineage"]),
        partial=bool(item.get("partial", False)),
        created_at=from_iso(str(item["created_at"])),
        resource_count=None if count is None else int(count),
        output_names=[str(name) for name in item.get("output_names") or []],
        status=StateVersionStatus(str(item.get("status", StateVersionStatus.FINALIZED))),
        md5=optional("md5"),
        size=None if size is None else int(size),
        terraform_version=optional("terraform_version"),
    )
