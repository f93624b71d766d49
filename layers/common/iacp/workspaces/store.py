"""The workspaces table (see docs/architecture.md for its item layout).

Everything under ``pk = <workspace id>`` belongs to the workspace: its own item
(``sk = "workspace"``) and its variables. A name-claim item (``pk = "name#<lower-case name>"``)
makes names unique: it is written in the same transaction as the workspace, conditionally.
A workspace connected to a repository also carries ``vcs_connection_id`` and
``vcs_repository`` (``repository_key``): the sparse ``by-repository`` index finds the
workspaces a push concerns. A workspace with an IAM role carries ``aws_role_arn`` and perhaps
``aws_external_id``, and ``aws_session_duration`` when it was set (absent: the default);
``runner_size`` (``{"cpu", "memory"}``) when it was set (absent: the platform's).
``execution_mode`` is stored when it is ``local`` (absent: ``remote``), ``tags`` (a map of
strings) when there are any, ``execution`` when it is ``lambda`` (absent: ``fargate``),
``phase_timeout_seconds`` when it is set.
"""

from typing import TYPE_CHECKING, Any, Protocol

from iacp.dynamo import (
    TransactionCanceled,
    batch_get,
    conditionally,
    page_by_name,
    query_all,
    transact_write,
)
from iacp.errors import Conflict
from iacp.tables import dynamodb_table
from iacp.timestamps import from_iso, to_iso
from iacp.vcs.models import WorkspaceVcs, repository_key
from iacp.workspaces.models import (
    DEFAULT_SESSION_DURATION,
    Execution,
    ExecutionMode,
    RunnerSize,
    Workspace,
    WorkspaceLock,
)

if TYPE_CHECKING:
    from datetime import datetime


WORKSPACE_SK = "workspace"
BY_REPOSITORY = "by-repository"
_UPDATABLE = (
    "description",
    "terraform_version",
    "working_directory",
    "auto_apply",
    "vcs",
    "vcs_connection_id",
    "vcs_repository",
    "aws_role_arn",
    "aws_external_id",
    "aws_session_duration",
    "runner_size",
    "execution_mode",
    "tags",
    "execution",
    "phase_timeout_seconds",
)


class NameTaken(Conflict):
    def __init__(self, name: str):
        super().__init__(f"A workspace named '{name}' already exists.", pointer="/name")


class WorkspaceStore(Protocol):
    def create(self, workspace: Workspace) -> None: ...
    def get(self, workspace_id: str) -> Workspace | None: ...
    def get_many(self, workspace_ids: list[str]) -> list[Workspace]: ...
    def get_by_name(self, name: str) -> Workspace | None: ...
    def page(
        self, limit: int, cursor: str | None, name_prefix: str = ""
    ) -> tuple[list[Workspace], str | None]: ...
    def update(
        self, current: Workspace, changes: dict[str, Any], at: "datetime"
    ) -> Workspace | None: ...
    def delete(self, workspace: Workspace) -> bool: ...
    def lock(self, workspace_id: str, lock: WorkspaceLock) -> Workspace | None: ...
    def unlock(self, workspace_id: str, holder: str | None) -> Workspace | None: ...
    def claim_queue(self, workspace_id: str, run_id: str) -> bool: ...
    def release_queue(self, workspace_id: str, run_id: str) -> bool: ...
    def tracking(self, connection_id: str, repository: str) -> list[Workspace]: ...
    def uses_connection(self, connection_id: str) -> bool: ...


def _name_claim_key(name: str) -> dict[str, str]:
    return {"pk": f"name#{name.lower()}", "sk": "name"}


class DynamoWorkspaceStore:
    """Conditional writes throughout; a method returns ``None``/``False`` when its condition
    failed, and the service reads the workspace again to say why."""

    def __init__(self, table_name: str):
        self._table = dynamodb_table(table_name)

    def create(self, workspace: Workspace) -> None:
        try:
            transact_write(
                [
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": _item(workspace),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": _name_claim_key(workspace.name)
                            | {"workspace_id": workspace.id},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except TransactionCanceled as canceled:
            if canceled.failed[1]:
                raise NameTaken(workspace.name) from canceled
            raise

    def get(self, workspace_id: str) -> Workspace | None:
        reply = self._table.get_item(
            Key={"pk": workspace_id, "sk": WORKSPACE_SK}, ConsistentRead=True
        )
        item = reply.get("Item")
        return None if item is None else _workspace(item)

    def get_by_name(self, name: str) -> Workspace | None:
        """The workspace with this name (ignoring case, as names are unique), through its
        name claim."""
        claim = self._table.get_item(Key=_name_claim_key(name), ConsistentRead=True).get("Item")
        if claim is None:
            return None
        workspace = self.get(str(claim["workspace_id"]))
        # A rename between the two reads: the claim's workspace has another name now.
        return workspace if workspace and workspace.name.lower() == name.lower() else None

    def get_many(self, workspace_ids: list[str]) -> list[Workspace]:
        keys = [{"pk": workspace_id, "sk": WORKSPACE_SK} for workspace_id in workspace_ids]
        found = [_workspace(item) for item in batch_get(self._table.name, keys)]
        return sorted(found, key=lambda w: w.name)

    def page(
        self, limit: int, cursor: str | None, name_prefix: str = ""
    ) -> tuple[list[Workspace], str | None]:
        items, next_cursor = page_by_name(
            self._table, "workspace", WORKSPACE_SK, limit, cursor, name_prefix
        )
        return [_workspace(i) for i in items], next_cursor

    def update(
        self, current: Workspace, changes: dict[str, Any], at: "datetime"
    ) -> Workspace | None:
        names = {"#updated_at": "updated_at"}
        values: dict[str, Any] = {":updated_at": to_iso(at)}
        sets = ["#updated_at = :updated_at"]
        removes = []
        if "vcs" in changes:
            changes = {**changes, **_vcs_attributes(changes["vcs"])}
        if "execution_mode" in changes:
            changes = {**changes, "execution_mode": _stored_mode(changes["execution_mode"])}
        if "execution" in changes:
            changes = {**changes, "execution": _stored_execution(changes["execution"])}
        if changes.get("tags") == {}:
            changes = {**changes, "tags": None}  # no tags: no attribute
        for field in (*_UPDATABLE, "name"):
            if field not in changes:
                continue
            names[f"#{field}"] = field
            if changes[field] is None:
                removes.append(f"#{field}")
            else:
                values[f":{field}"] = changes[field]
                sets.append(f"#{field} = :{field}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_exists(pk)"
        if changes.get("aws_external_id") is not None and "aws_role_arn" not in changes:
            # An external id goes with a role: not onto a workspace whose role went meanwhile.
            condition += " AND attribute_exists(aws_role_arn)"
        # The service checked the executor against the phase limit (a lambda workspace's must
        # fit): a change of one is made only against the other as it was read.
        for changed, other, was in (
            ("execution", "phase_timeout_seconds", current.phase_timeout_seconds),
            ("phase_timeout_seconds", "execution", _stored_execution(current.execution)),
        ):
            if changed in changes and other not in changes:
                names[f"#{other}"] = other
                if was is None:
                    condition += f" AND attribute_not_exists(#{other})"
                else:
                    values[f":was_{other}"] = was
                    condition += f" AND #{other} = :was_{other}"
        update = {
            "TableName": self._table.name,
            "Key": {"pk": current.id, "sk": WORKSPACE_SK},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        new_name = changes.get("name")
        if new_name is None or new_name.lower() == current.name.lower():
            return self._update(update)
        # A rename moves the name claim in the same transaction as the workspace.
        try:
            transact_write(
                [
                    {"Update": update},
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": _name_claim_key(current.name),
                            "ConditionExpression": "workspace_id = :id",
                            "ExpressionAttributeValues": {":id": current.id},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": _name_claim_key(new_name) | {"workspace_id": current.id},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except TransactionCanceled as canceled:
            if canceled.failed[2]:
                raise NameTaken(new_name) from canceled
            return None
        return self.get(current.id)

    def delete(self, workspace: Workspace) -> bool:
        """Delete a workspace that is neither locked nor running and still has the name it
        was read with, then everything under it."""
        try:
            transact_write(
                [
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": {"pk": workspace.id, "sk": WORKSPACE_SK},
                            # The name is part of the condition so that a rename racing
                            # this delete cannot leave the new name's claim behind.
                            "ConditionExpression": (
                                "#name = :name AND attribute_not_exists(#lock)"
                                " AND attribute_not_exists(current_run_id)"
                            ),
                            "ExpressionAttributeNames": {"#lock": "lock", "#name": "name"},
                            "ExpressionAttributeValues": {":name": workspace.name},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": _name_claim_key(workspace.name),
                        }
                    },
                ]
            )
        except TransactionCanceled:
            return False
        self._delete_collection(workspace.id)
        return True

    def lock(self, workspace_id: str, lock: WorkspaceLock) -> Workspace | None:
        return self._update(
            {
                "Key": {"pk": workspace_id, "sk": WORKSPACE_SK},
                "UpdateExpression": "SET #lock = :lock",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#lock)",
                "ExpressionAttributeNames": {"#lock": "lock"},
                "ExpressionAttributeValues": {":lock": _lock_item(lock)},
            }
        )

    def unlock(self, workspace_id: str, holder: str | None) -> Workspace | None:
        """Release the lock if ``holder`` holds it, or whoever does when ``holder`` is None."""
        condition = "attribute_exists(#lock)"
        values: dict[str, Any] = {}
        if holder is not None:
            condition = "#lock.holder = :holder"
            values[":holder"] = holder
        request: dict[str, Any] = {
            "Key": {"pk": workspace_id, "sk": WORKSPACE_SK},
            "UpdateExpression": "REMOVE #lock",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#lock": "lock"},
        }
        if values:
            request["ExpressionAttributeValues"] = values
        return self._update(request)

    def claim_queue(self, workspace_id: str, run_id: str) -> bool:
        """Make ``run_id`` the workspace's active run, if no other run is (design §4: one
        non-speculative run at a time). Claiming again for the same run succeeds."""
        return (
            self._update(
                {
                    "Key": {"pk": workspace_id, "sk": WORKSPACE_SK},
                    "UpdateExpression": "SET current_run_id = :run",
                    "ConditionExpression": (
                        "attribute_exists(pk) AND "
                        "(attribute_not_exists(current_run_id) OR current_run_id = :run)"
                    ),
                    "ExpressionAttributeValues": {":run": run_id},
                }
            )
            is not None
        )

    def release_queue(self, workspace_id: str, run_id: str) -> bool:
        """Free the workspace's active-run slot if ``run_id`` holds it."""
        return (
            self._update(
                {
                    "Key": {"pk": workspace_id, "sk": WORKSPACE_SK},
                    "UpdateExpression": "REMOVE current_run_id",
                    "ConditionExpression": "current_run_id = :run",
                    "ExpressionAttributeValues": {":run": run_id},
                }
            )
            is not None
        )

    def tracking(self, connection_id: str, repository: str) -> list[Workspace]:
        """The workspaces connected to ``repository`` through the connection. The index is
        eventually consistent: a workspace connected a moment ago may be missed once."""
        items = query_all(
            self._table,
            IndexName=BY_REPOSITORY,
            KeyConditionExpression="vcs_connection_id = :c AND vcs_repository = :r",
            ExpressionAttributeValues={":c": connection_id, ":r": repository_key(repository)},
        )
        return [_workspace(item) for item in items]

    def uses_connection(self, connection_id: str) -> bool:
        reply = self._table.query(
            IndexName=BY_REPOSITORY,
            KeyConditionExpression="vcs_connection_id = :c",
            ExpressionAttributeValues={":c": connection_id},
            Limit=1,
        )
        return bool(reply["Items"])

    def _update(self, request: dict[str, Any]) -> Workspace | None:
        request = {k: v for k, v in request.items() if k != "TableName"}
        reply = conditionally(lambda: self._table.update_item(**request, ReturnValues="ALL_NEW"))
        return None if reply is None else _workspace(reply["Attributes"])

    def _delete_collection(self, workspace_id: str) -> None:
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": workspace_id},
            "ProjectionExpression": "pk, sk",
        }
        with self._table.batch_writer() as batch:
            for key in query_all(self._table, **query):
                batch.delete_item(Key={"pk": key["pk"], "sk": key["sk"]})


def _lock_item(lock: WorkspaceLock) -> dict[str, str]:
    return {"holder": lock.holder, "reason": lock.reason, "locked_at": to_iso(lock.locked_at)}


def _item(workspace: Workspace) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": workspace.id,
        "sk": WORKSPACE_SK,
        "entity": "workspace",
        "name": workspace.name,
        "description": workspace.description,
        "working_directory": workspace.working_directory,
        "auto_apply": workspace.auto_apply,
        "created_at": to_iso(workspace.created_at),
        "updated_at": to_iso(workspace.updated_at),
    }
    if workspace.terraform_version is not None:
        item["terraform_version"] = workspace.terraform_version
    if workspace.lock is not None:
        item["lock"] = _lock_item(workspace.lock)
    if workspace.current_run_id is not None:
        item["current_run_id"] = workspace.current_run_id
    if workspace.vcs is not None:
        item.update(_vcs_attributes(workspace.vcs.model_dump()))
    if workspace.aws_role_arn is not None:
        item["aws_role_arn"] = workspace.aws_role_arn
    if workspace.aws_external_id is not None:
        item["aws_external_id"] = workspace.aws_external_id
    if workspace.aws_session_duration != DEFAULT_SESSION_DURATION:
        item["aws_session_duration"] = workspace.aws_session_duration
    if workspace.runner_size is not None:
        item["runner_size"] = workspace.runner_size.model_dump()
    if workspace.execution_mode is not ExecutionMode.REMOTE:
        item["execution_mode"] = workspace.execution_mode.value
    if workspace.tags:
        item["tags"] = dict(workspace.tags)
    if workspace.execution is not Execution.FARGATE:
        item["execution"] = workspace.execution.value
    if workspace.phase_timeout_seconds is not None:
        item["phase_timeout_seconds"] = workspace.phase_timeout_seconds
    return item


def _stored_mode(mode: str | None) -> str | None:
    """The execution mode as stored: only ``local``; the default is no attribute."""
    return None if mode in (None, ExecutionMode.REMOTE) else str(mode)


def _stored_execution(execution: str | None) -> str | None:
    """The executor as stored: only ``lambda``; the default, fargate, is no attribute."""
    return Execution.LAMBDA.value if execution == Execution.LAMBDA else None


def _vcs_attributes(vcs: dict[str, Any] | None) -> dict[str, Any]:
    """The settings, and the index attributes that follow them (all None: removed)."""
    if vcs is None:
        return {"vcs": None, "vcs_connection_id": None, "vcs_repository": None}
    return {
        "vcs": vcs,
        "vcs_connection_id": vcs["connection_id"],
        "vcs_repository": repository_key(vcs["repository"]),
    }


def _workspace(item: dict[str, Any]) -> Workspace:
    lock = item.get("lock")
    return Workspace(
        id=str(item["pk"]),
        name=str(item["name"]),
        description=str(item.get("description", "")),
        terraform_version=item.get("terraform_version"),
        working_directory=str(item.get("working_directory", "")),
        auto_apply=bool(item.get("auto_apply", False)),
        created_at=from_iso(str(item["created_at"])),
        updated_at=from_iso(str(item["updated_at"])),
        lock=None
        if lock is None
        else WorkspaceLock(
            holder=lock["holder"], reason=lock["reason"], locked_at=from_iso(lock["locked_at"])
        ),
        current_run_id=item.get("current_run_id"),
        vcs=None if "vcs" not in item else WorkspaceVcs.model_validate(item["vcs"]),
        aws_role_arn=item.get("aws_role_arn"),
        aws_external_id=item.get("aws_external_id"),
        aws_session_duration=int(item.get("aws_session_duration", DEFAULT_SESSION_DURATION)),
        runner_size=None
        if "runner_size" not in item
        else RunnerSize(
            cpu=int(item["runner_size"]["cpu"]), memory=int(item["runner_size"]["memory"])
        ),
        execution_mode=ExecutionMode(item.get("execution_mode", ExecutionMode.REMOTE)),
        tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
        execution=Execution(item.get("execution", Execution.FARGATE)),
        phase_timeout_seconds=None
        if item.get("phase_timeout_seconds") is None
        else int(item["phase_timeout_seconds"]),
    )
