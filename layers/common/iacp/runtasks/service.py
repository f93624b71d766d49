"""Run tasks as users manage them: create, change and delete (admin), attach to workspaces
(admin: detaching a mandatory check must not be a way around it), and read (any role).

Creating a task, or changing its URL or HMAC key, sends the signed verification request
first; the task is saved only if the service answered 2xx, else the request is a 422 that
says what the service did. The URL must be ``https://`` unless the stack allows plain HTTP:
every webhook carries an access token to the run's plan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from iacp.crypto import Sealer
from iacp.errors import Conflict, InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.outbound import Outbound, require_https
from iacp.pagination import Page
from iacp.principal import Principal, Role
from iacp.runtasks.models import (
    RunTask,
    RunTaskCreate,
    RunTaskUpdate,
    WorkspaceRunTask,
    WorkspaceRunTaskCreate,
    WorkspaceRunTaskUpdate,
)
from iacp.runtasks.protocol import (
    VERIFICATION_TIMEOUT_SECONDS,
    Links,
    deliver,
    verification_payload,
)
from iacp.runtasks.store import RunTaskRecord, RunTaskStore, updated
from iacp.timestamps import utcnow
from iacp.workspaces.store import WorkspaceStore

HMAC_SEALING_PURPOSE = "run-task-hmac-keys"


class RunTaskService:
    def __init__(
        self,
        store: RunTaskStore,
        workspaces: WorkspaceStore,
        sealer: Callable[[], Sealer],
        organization_name: str,
        outbound: Outbound,
        plain_http_allowed: bool,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._workspaces = workspaces
        self._sealer = sealer
        self._organization_name = organization_name
        self._outbound = outbound
        self._plain_http_allowed = plain_http_allowed
        self._clock = clock

    # --- run tasks -------------------------------------------------------------------------

    def create(self, principal: Principal, request: RunTaskCreate, links: Links) -> RunTask:
        principal.require(Role.ADMIN)
        principal.require_unlimited("manage run tasks")
        now = self._clock()
        task_id = new_id("task")
        url = str(request.url)
        self._verify(url, request.hmac_key, links)
        record = RunTaskRecord(
            task=RunTask(
                id=task_id,
                created_at=now,
                updated_at=now,
                name=request.name,
                url=url,
                description=request.description,
                enabled=request.enabled,
                timeout_seconds=request.timeout_seconds,
                max_run_seconds=request.max_run_seconds,
                hmac_key_set=request.hmac_key is not None,
                global_=request.global_,
            ),
            sealed_hmac_key=self._seal(task_id, request.hmac_key),
        )
        self._store.create(record)
        logger.info("run task created", extra={"run_task_id": task_id})
        return record.task

    def page(self, principal: Principal, limit: int, cursor: str | None) -> Page[RunTask]:
        principal.require(Role.READ)
        tasks, next_cursor = self._store.page(limit, cursor)
        return Page[RunTask](items=tasks, next_cursor=next_cursor)

    def get(self, principal: Principal, task_id: str) -> RunTask:
        principal.require(Role.READ)
        return self._existing(task_id).task

    def update(
        self, principal: Principal, task_id: str, request: RunTaskUpdate, links: Links
    ) -> RunTask:
        principal.require(Role.ADMIN)
        principal.require_unlimited("manage run tasks")
        current = self._existing(task_id)
        changes: dict[str, Any] = {
            name: value
            for name, value in request.model_dump(exclude_unset=True, by_alias=False).items()
            if name != "hmac_key"
        }
        if "url" in changes:
            changes["url"] = str(request.url)
        key_changed = "hmac_key" in request.model_fields_set
        if key_changed:
            changes["sealed_hmac_key"] = self._seal(task_id, request.hmac_key)
        if key_changed or changes.get("url", current.task.url) != current.task.url:
            key = request.hmac_key if key_changed else current.hmac_key(self._sealer())
            self._verify(changes.get("url", current.task.url), key, links)
        new = updated(current, changes, self._clock())
        if not self._store.replace(current, new):
            raise Conflict(f"Run task {task_id} changed while it was being updated; retry.")
        logger.info("run task updated", extra={"run_task_id": task_id})
        return new.task

    def delete(self, principal: Principal, task_id: str) -> None:
        principal.require(Role.ADMIN)
        principal.require_unlimited("manage run tasks")
        if not self._store.delete(self._existing(task_id)):
            self._existing(task_id)  # deleted meanwhile: 404
            raise Conflict(f"Run task {task_id} changed while it was being deleted; retry.")
        logger.info("run task deleted", extra={"run_task_id": task_id})

    # --- attachments -----------------------------------------------------------------------

    def attach(
        self, principal: Principal, workspace_id: str, request: WorkspaceRunTaskCreate
    ) -> WorkspaceRunTask:
        principal.require_workspace(workspace_id, Role.ADMIN)
        self._require_workspace(workspace_id)
        if self._store.get(request.run_task_id) is None:
            raise InvalidInput(f"No run task {request.run_task_id}.", pointer="/run_task_id")
        attachment = WorkspaceRunTask(
            id=new_id("wstask"),
            created_at=self._clock(),
            workspace_id=workspace_id,
            run_task_id=request.run_task_id,
            stages=request.stages,
            enforcement_level=request.enforcement_level,
        )
        if not self._store.attach(attachment):
            raise Conflict(
                f"Run task {request.run_task_id} is already attached to workspace "
                f"{workspace_id}; change that attachment instead.",
                pointer="/run_task_id",
            )
        logger.info("run task attached", extra=attachment.model_dump(include={"id", "run_task_id"}))
        return attachment

    def attachments(self, principal: Principal, workspace_id: str) -> Page[WorkspaceRunTask]:
        principal.require_workspace(workspace_id, Role.READ)
        self._require_workspace(workspace_id)
        return Page[WorkspaceRunTask](items=self.live_attachments(workspace_id))

    def live_attachments(self, workspace_id: str) -> list[WorkspaceRunTask]:
        """The workspace's attachments whose run task still exists."""
        attachments = self._store.attachments(workspace_id)
        return [a for a in attachments if self._store.get(a.run_task_id) is not None]

    def update_attachment(
        self,
        principal: Principal,
        workspace_id: str,
        attachment_id: str,
        request: WorkspaceRunTaskUpdate,
    ) -> WorkspaceRunTask:
        principal.require_workspace(workspace_id, Role.ADMIN)
        current = self._attachment(workspace_id, attachment_id)
        new = current.model_copy(update=request.model_dump(exclude_unset=True))
        if not self._store.update_attachment(new):
            raise NotFound(
                f"No run task attachment {capped(attachment_id)} in {capped(workspace_id)}."
            )
        return new

    def detach(self, principal: Principal, workspace_id: str, attachment_id: str) -> None:
        principal.require_workspace(workspace_id, Role.ADMIN)
        if not self._store.detach(self._attachment(workspace_id, attachment_id)):
            raise NotFound(
                f"No run task attachment {capped(attachment_id)} in {capped(workspace_id)}."
            )
        logger.info("run task detached", extra={"workspace_run_task_id": attachment_id})

    # --- helpers ---------------------------------------------------------------------------

    def _verify(self, url: str, hmac_key: str | None, links: Links) -> None:
        require_https(url, plain_http_allowed=self._plain_http_allowed)
        body = verification_payload(self._organization_name, links)
        delivery = deliver(
            url,
            body,
            hmac_key,
            outbound=self._outbound,
            timeout=VERIFICATION_TIMEOUT_SECONDS,
            accept_any_2xx=True,
        )
        if not delivery.accepted:
            raise InvalidInput(
                f"The run task's URL failed verification: {delivery.problem}. Nothing was "
                "saved; a run-task service must answer the verification request with 2xx.",
                pointer="/url",
            )

    def _seal(self, task_id: str, hmac_key: str | None) -> str | None:
        return None if hmac_key is None else self._sealer().seal(hmac_key, bound_to=task_id)

    def _existing(self, task_id: str) -> RunTaskRecord:
        record = self._store.get(task_id)
        if record is None:
            raise NotFound(f"No run task {capped(task_id)}.")
        return record

    def _require_workspace(self, workspace_id: str) -> None:
        if self._workspaces.get(workspace_id) is None:
            raise NotFound(f"No workspace {capped(workspace_id)}.")

    def _attachment(self, workspace_id: str, attachment_id: str) -> WorkspaceRunTask:
        for attachment in self.live_attachments(workspace_id):
            if attachment.id == attachment_id:
                return attachment
        raise NotFound(f"No run task attachment {capped(attachment_id)} in {capped(workspace_id)}.")
