"""Variable rules: keys valid for their category, HCL only for Terraform variables, and
sensitive values sealed before they are stored and never returned or logged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from iacp.crypto import Sealer
from iacp.errors import InvalidInput, NotFound, capped
from iacp.ids import new_id
from iacp.observability import logger
from iacp.pagination import MAX_LIMIT, Page
from iacp.principal import Principal, Role
from iacp.timestamps import utcnow
from iacp.variables.models import (
    KEY_PATTERNS,
    RunVariable,
    Variable,
    VariableCategory,
    VariableCreate,
    VariableUpdate,
)
from iacp.variables.store import VariableRecord, VariableStore
from iacp.workspaces.service import existing_workspace
from iacp.workspaces.store import WorkspaceStore

SEALING_PURPOSE = "variables"


class VariableService:
    def __init__(
        self,
        store: VariableStore,
        workspaces: WorkspaceStore,
        sealer: Callable[[], Sealer],
        clock: Callable[[], datetime] = utcnow,
    ):
        self._store = store
        self._workspaces = workspaces
        self._sealer = sealer  # called only when a sensitive value is written
        self._clock = clock

    def create(self, principal: Principal, workspace_id: str, request: VariableCreate) -> Variable:
        principal.require_workspace(workspace_id, Role.WRITE)
        existing_workspace(self._workspaces, workspace_id)
        _check_key_and_hcl(request.key, request.category, request.hcl)
        now = self._clock()
        record = VariableRecord(
            id=new_id("var"),
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            key=request.key,
            category=request.category,
            hcl=request.hcl,
            sensitive=request.sensitive,
            description=request.description,
        )
        self._set_value(record, request.value)
        self._store.create(record)
        logger.info("variable created", extra=_log_fields(record))
        return _public(record)

    def page(
        self, principal: Principal, workspace_id: str, limit: int, cursor: str | None
    ) -> Page[Variable]:
        principal.require_workspace(workspace_id, Role.READ)
        existing_workspace(self._workspaces, workspace_id)
        records, next_cursor = self._store.page(workspace_id, limit, cursor)
        return Page[Variable](items=[_public(r) for r in records], next_cursor=next_cursor)

    def get(self, principal: Principal, workspace_id: str, variable_id: str) -> Variable:
        principal.require_workspace(workspace_id, Role.READ)
        return _public(self._existing(workspace_id, variable_id))

    def update(
        self, principal: Principal, workspace_id: str, variable_id: str, request: VariableUpdate
    ) -> Variable:
        principal.require_workspace(workspace_id, Role.WRITE)
        current = self._existing(workspace_id, variable_id)
        if current.sensitive and request.sensitive is False:
            raise InvalidInput(
                "A sensitive variable cannot be made non-sensitive; delete and re-create it.",
                pointer="/sensitive",
            )
        changes = request.model_dump(include=request.model_fields_set, exclude={"value"})
        new = current.model_copy(
            update=changes | {"updated_at": self._clock(), "version": current.version + 1}
        )
        _check_key_and_hcl(new.key, new.category, new.hcl)
        if request.value is not None:
            self._set_value(new, request.value)
        elif new.sensitive and not current.sensitive:
            self._set_value(new, current.value or "")  # made sensitive: seal the old value
        self._store.replace(current, new)
        logger.info("variable updated", extra=_log_fields(new))
        return _public(new)

    def delete(self, principal: Principal, workspace_id: str, variable_id: str) -> None:
        principal.require_workspace(workspace_id, Role.WRITE)
        record = self._existing(workspace_id, variable_id)
        if not self._store.delete(record):
            raise NotFound(
                f"No variable {capped(variable_id)} in workspace {capped(workspace_id)}."
            )
        logger.info("variable deleted", extra=_log_fields(record))

    def _set_value(self, record: VariableRecord, value: str) -> None:
        if record.sensitive:
            record.sealed_value = self._sealer().seal(value, bound_to=_binding(record))
            record.value = None
        else:
            record.value, record.sealed_value = value, None

    def _existing(self, workspace_id: str, variable_id: str) -> VariableRecord:
        record = self._store.get(workspace_id, variable_id)
        if record is None:
            existing_workspace(self._workspaces, workspace_id)
            raise NotFound(
                f"No variable {capped(variable_id)} in workspace {capped(workspace_id)}."
            )
        return record


def _binding(record: VariableRecord) -> str:
    """The associated data a sealed value is bound to: its workspace and variable."""
    return f"{record.workspace_id}/{record.id}"


def _check_key_and_hcl(key: str, category: VariableCategory, hcl: bool) -> None:
    if not KEY_PATTERNS[category].match(key):
        raise InvalidInput(
            f"'{capped(key)}' is not a valid {category} variable name: use letters, digits and '_'"
            + (" or '-'" if category is VariableCategory.TERRAFORM else "")
            + ", not starting with a digit.",
            pointer="/key",
        )
    if hcl and category is VariableCategory.ENV:
        raise InvalidInput("Only terraform variables can be HCL.", pointer="/hcl")


def _public(record: VariableRecord) -> Variable:
    return Variable(
        **record.model_dump(exclude={"value", "sealed_value", "version"}),
        value=None if record.sensitive else record.value,
    )


def _log_fields(record: VariableRecord) -> dict[str, object]:
    return {
        "workspace_id": record.workspace_id,
        "variable_id": record.id,
        "key": record.key,
        "sensitive": record.sensitive,
    }


def variables_for_run(store: VariableStore, workspace_id: str, sealer: Sealer) -> list[RunVariable]:
    """Every variable of the workspace, sensitive values unsealed. Only the workflow calls
    this, to hand them to the runner sealed (iacp.variables.handoff); nothing it returns may
    be logged or stored in the clear."""
    variables: list[RunVariable] = []
    cursor: str | None = None
    while True:
        records, cursor = store.page(workspace_id, MAX_LIMIT, cursor)
        for record in records:
            value = (
                sealer.open(record.sealed_value, bound_to=_binding(record))
                if record.sealed_value is not None
                else record.value or ""
            )
            variables.append(
                RunVariable(
                    key=record.key,
                    value=value,
                    category=record.category,
                    hcl=record.hcl,
                    sensitive=record.sensitive,
                )
            )
        if cursor is None:
            return variables
