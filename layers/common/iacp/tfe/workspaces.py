"""TFE's workspaces (``workspaces``), their lock actions and their tags, over iacp's
``WorkspaceService``: ``terraform init`` reads the workspace by name and creates it on a 404,
then sets its Terraform version; tag-selected workspaces (``workspaces { tags = ... }``) are
listed by tag and get their tags added (docs/terraform-cli.md).

Every rule (names, validation, roles, the lock) is the service's. What is TFE's own is here:
the JSON:API shapes, page-number pagination and search, and the words go-tfe reads in an
unlock's 409. A token limited to other workspaces gets the 404 of an unknown workspace.
"""

import fnmatch
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StrictBool,
    ValidationError,
    model_serializer,
)

from iacp.errors import Conflict, DomainError, InvalidInput, capped
from iacp.http import Caller, ResourceId, provided
from iacp.model import Model
from iacp.pagination import every_item
from iacp.principal import Principal, Role
from iacp.states.service import StateService
from iacp.tfe.jsonapi import Attributes, Document, Relationship, Resource, kebab, page_meta, reply
from iacp.tfe.protocol import PREFIX, Organization, RunnerTerraform, visible_workspace
from iacp.timestamps import UtcDatetime
from iacp.workspaces.models import (
    MAX_TAGS,
    Description,
    ExecutionMode,
    LockRequest,
    TagKey,
    TagValue,
    WorkingDirectory,
    Workspace,
    WorkspaceCreate,
    WorkspaceName,
    WorkspaceUpdate,
)
from iacp.workspaces.service import WorkspaceService

router = APIGatewayRouter()
Workspaces = Annotated[WorkspaceService, provided("workspaces")]
States = Annotated[StateService, provided("states")]

ORGANIZATION_WORKSPACES = f"{PREFIX}/organizations/<organization>/workspaces"
WORKSPACE = f"{PREFIX}/workspaces/<workspace_id>"
LATEST = "latest"  # TFE's terraform-version of a workspace that runs the platform's Terraform
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


# --- what a reply says --------------------------------------------------------------------


class NullableAttributes(Attributes):
    """Attributes that TFE sends as ``null`` when they have no value (``reply`` leaves out
    every other empty member)."""

    NULLABLE: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _with_nulls(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.NULLABLE:
            data.setdefault(kebab(name) if info.by_alias else name, None)
        return data


class VcsRepo(Attributes):
    identifier: str
    display_identifier: str
    branch: str
    oauth_token_id: str = Field(description="The iacp VCS connection")
    ingress_submodules: bool = False


class WorkspacePermissions(Attributes):
    """What the caller's token may do on the workspace: its role decides, the workspace being
    one it sees (a token limited to others gets a 404, never this)."""

    can_read_settings: bool = True
    can_read_state_versions: bool = True
    can_read_state_outputs: bool = True
    can_read_variable: bool = True
    can_read_run: bool = True
    can_update: bool
    can_destroy: bool
    can_force_delete: bool
    can_queue_run: bool
    can_queue_apply: bool
    can_queue_destroy: bool
    can_lock: bool
    can_unlock: bool
    can_force_unlock: bool
    can_create_state_versions: bool
    can_read_state_versions_download: bool = True
    can_update_variable: bool
    can_manage_run_tasks: bool

    @classmethod
    def of(cls, caller: Principal) -> "WorkspacePermissions":
        write = caller.role.rank >= Role.WRITE.rank
        admin = caller.role is Role.ADMIN
        return cls(
            can_update=write,
            can_destroy=write,
            can_force_delete=write,
            can_queue_run=write,
            can_queue_apply=write,
            can_queue_destroy=write,
            can_lock=write,
            can_unlock=write,
            can_force_unlock=admin,
            can_create_state_versions=write,
            can_update_variable=write,
            can_manage_run_tasks=admin,
        )


class WorkspaceActions(Attributes):
    is_destroyable: bool


class WorkspaceAttributes(NullableAttributes):
    NULLABLE = ("vcs_repo",)

    name: str
    description: str
    auto_apply: bool
    execution_mode: ExecutionMode
    operations: bool = Field(description="False for local execution")
    terraform_version: str = Field(description="'latest' when the workspace has none")
    locked: bool
    working_directory: str
    vcs_repo: VcsRepo | None
    vcs_repo_identifier: str | None = None
    trigger_prefixes: list[str]
    file_triggers_enabled: bool
    permissions: WorkspacePermissions
    actions: WorkspaceActions
    created_at: UtcDatetime
    updated_at: UtcDatetime
    resource_count: int
    tag_names: list[str]
    environment: str = "default"
    queue_all_runs: bool = True
    speculative_enabled: bool = True
    allow_destroy_plan: bool = True
    global_remote_state: bool = False
    structured_run_output_enabled: bool = True
    source: str = "tfe-api"
    setting_overwrites: dict[str, bool] = Field(
        default_factory=lambda: {"execution-mode": True, "agent-pool": False}
    )


def workspace_resource(
    workspace: Workspace, caller: Principal, organization: str, states: StateService
) -> Resource[WorkspaceAttributes]:
    state = states.current_version(workspace.id)
    vcs = workspace.vcs
    relationships = {"organization": Relationship.to("organizations", organization)}
    if workspace.current_run_id is not None:
        relationships["current-run"] = Relationship.to("runs", workspace.current_run_id)
    if state is not None:
        relationships["current-state-version"] = Relationship.to("state-versions", state.id)
    if workspace.lock is not None:
        holder = workspace.lock.holder
        relationships["locked-by"] = Relationship.to(
            "runs" if holder.startswith("run-") else "users", holder
        )
    return Resource(
        id=workspace.id,
        type="workspaces",
        attributes=WorkspaceAttributes(
            name=workspace.name,
            description=workspace.description,
            auto_apply=workspace.auto_apply,
            execution_mode=workspace.execution_mode,
            operations=workspace.execution_mode is ExecutionMode.REMOTE,
            terraform_version=workspace.terraform_version or LATEST,
            locked=workspace.locked,
            working_directory=workspace.working_directory,
            vcs_repo=None
            if vcs is None
            else VcsRepo(
                identifier=vcs.repository,
                display_identifier=vcs.repository,
                branch=vcs.branch,
                oauth_token_id=vcs.connection_id,
            ),
            vcs_repo_identifier=None if vcs is None else vcs.repository,
            trigger_prefixes=[] if vcs is None else list(vcs.trigger_prefixes),
            file_triggers_enabled=vcs is not None and bool(vcs.trigger_prefixes),
            permissions=WorkspacePermissions.of(caller),
            actions=WorkspaceActions(
                is_destroyable=caller.role.rank >= Role.WRITE.rank
                and workspace.lock is None
                and workspace.current_run_id is None
            ),
            created_at=workspace.created_at,
            updated_at=workspace.updated_at,
            resource_count=(state.resource_count or 0) if state is not None else 0,
            tag_names=sorted(workspace.tags),
        ),
        relationships=relationships,
        links={"self": f"{PREFIX}/organizations/{organization}/workspaces/{workspace.name}"},
    )


# --- what a request says -----------------------------------------------------------------


class TagIn(Model):
    model_config = ConfigDict(extra="ignore")

    class Name(Model):
        model_config = ConfigDict(extra="ignore")
        name: TagKey

    type: Literal["tags"]
    id: str | None = None
    attributes: Name | None = None


class TagBindingIn(Model):
    model_config = ConfigDict(extra="ignore")

    class KeyValue(Model):
        model_config = ConfigDict(extra="ignore")
        key: TagKey
        value: TagValue = ""

    type: Literal["tag-bindings"]
    attributes: KeyValue


class TagsRelationship(Model):
    model_config = ConfigDict(extra="ignore")
    data: list[TagIn] = Field(max_length=MAX_TAGS)


class TagBindingsRelationship(Model):
    model_config = ConfigDict(extra="ignore")
    data: list[TagBindingIn] = Field(max_length=MAX_TAGS)


class WorkspaceRelationshipsIn(Model):
    """The relationships a create or update may carry: legacy tags (by name) and key-value
    tag bindings (1.10+). Others (a project) are ignored: there are no projects."""

    model_config = ConfigDict(alias_generator=kebab, populate_by_name=True, extra="ignore")

    tags: TagsRelationship | None = None
    tag_bindings: TagBindingsRelationship | None = None


class VcsRepoIn(Attributes):
    identifier: str | None = None
    oauth_token_id: str | None = None
    branch: str | None = None


class WorkspaceSettings(Attributes):
    """A workspace's attributes as a create or an update sends them (all optional here: the
    create requires ``name`` through iacp's own model). Unknown attributes are ignored, as
    TFE ignores them."""

    name: WorkspaceName | None = None
    description: Description | None = None
    auto_apply: StrictBool | None = None
    execution_mode: ExecutionMode | None = None
    operations: StrictBool | None = Field(None, description="Deprecated: execution-mode")
    terraform_version: str | None = Field(
        None, max_length=64, description="'latest', or a version iacp's model checks"
    )
    working_directory: WorkingDirectory | None = None
    vcs_repo: VcsRepoIn | None = None
    trigger_prefixes: list[str] | None = None


class WorkspaceData(Model):
    model_config = ConfigDict(extra="ignore")

    type: Literal["workspaces"]
    id: str | None = None
    attributes: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    relationships: WorkspaceRelationshipsIn = Field(default_factory=WorkspaceRelationshipsIn)


class WorkspaceBody(Model):
    model_config = ConfigDict(extra="ignore")

    data: WorkspaceData


# Where a field of iacp's models came from in a TFE body, for the error's pointer.
_POINTERS = {
    "vcs": "/data/attributes/vcs-repo",
    "tags": "/data/relationships/tag-bindings",
}
M = TypeVar("M", bound=BaseModel)


def tfe_pointer(pointer: str) -> str:
    """Where in a TFE body the field an iacp JSON pointer names (``/vcs/branch``) is."""
    if pointer.startswith("/data/"):
        return pointer  # already one
    field = pointer.strip("/").split("/", 1)[0]
    return _POINTERS.get(field, f"/data/attributes/{kebab(field)}")


@contextmanager
def tfe_pointers() -> Iterator[None]:
    """The service's refusals of a body's field, pointing into the TFE body instead."""
    try:
        yield
    except DomainError as refused:
        pointer = (refused.source or {}).get("pointer")
        if pointer is None:
            raise
        refused.source = {"pointer": tfe_pointer(pointer)}
        raise


def iacp_model(model: type[M], fields: dict[str, Any]) -> M:
    """iacp's request model from a TFE body's fields; what it refuses is a 422 naming the
    TFE attribute."""
    try:
        return model.model_validate(fields)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        pointer = tfe_pointer("/".join(str(part) for part in error["loc"]))
        raise InvalidInput(
            f"{pointer.rsplit('/', 1)[-1]}: {error['msg']}", pointer=pointer
        ) from None


def _changes(data: WorkspaceData, current: Workspace | None, runner: str) -> dict[str, Any]:
    """iacp's fields for the attributes and relationships the body carries; ``runner``: the
    Terraform release the runners have, the only one a workspace may pin."""
    attributes = data.attributes
    given = attributes.model_fields_set
    fields: dict[str, Any] = {
        name: getattr(attributes, name)
        for name in ("name", "description", "auto_apply", "working_directory", "execution_mode")
        if name in given
    }
    if "terraform_version" in given:
        version = attributes.terraform_version
        if version not in (LATEST, runner):
            # TFE too refuses a release it does not have; the CLI, which sets its own release
            # on a workspace it creates, only warns, and the workspace runs the runners'.
            raise InvalidInput(
                f"iacp's runners have Terraform {runner}: terraform-version can be "
                f'"{runner}" or "{LATEST}", not {capped(str(version))}.',
                pointer="/data/attributes/terraform-version",
            )
        fields["terraform_version"] = None if version == LATEST else version
    if "operations" in given and "execution_mode" not in given:
        fields["execution_mode"] = (
            ExecutionMode.REMOTE if attributes.operations else ExecutionMode.LOCAL
        )
    if "vcs_repo" in given or "trigger_prefixes" in given:
        fields["vcs"] = _vcs(attributes, current)
    tags = _tags_of(data.relationships)
    if tags is not None:
        fields["tags"] = tags
    return fields


def _vcs(attributes: WorkspaceSettings, current: Workspace | None) -> dict[str, Any] | None:
    """The VCS settings: ``vcs-repo: null`` disconnects; given keys change the current ones."""
    if "vcs_repo" in attributes.model_fields_set and attributes.vcs_repo is None:
        return None
    base = current.vcs.model_dump() if current is not None and current.vcs is not None else {}
    repo = attributes.vcs_repo
    if repo is not None:
        given = repo.model_fields_set
        for ours, theirs in (
            ("repository", "identifier"),
            ("connection_id", "oauth_token_id"),
            ("branch", "branch"),
        ):
            if theirs in given:
                base[ours] = getattr(repo, theirs)
    if attributes.trigger_prefixes is not None:
        base["trigger_prefixes"] = attributes.trigger_prefixes
    return base


def _tags_of(relationships: WorkspaceRelationshipsIn) -> dict[str, str] | None:
    """The tags a body sets, legacy names with the value ''; None when it sets none."""
    if relationships.tags is None and relationships.tag_bindings is None:
        return None
    tags: dict[str, str] = {}
    for tag in relationships.tags.data if relationships.tags else []:
        tags[_tag_name(tag)] = ""
    for binding in relationships.tag_bindings.data if relationships.tag_bindings else []:
        tags[binding.attributes.key] = binding.attributes.value
    return tags


def _tag_name(tag: TagIn) -> str:
    if tag.attributes is None:
        raise InvalidInput("A tag is named by its attributes' name.", pointer="/data")
    return tag.attributes.name


# --- workspaces ----------------------------------------------------------------------------


PageNumber = Annotated[int, Query(alias="page[number]", ge=1, le=100_000)]
PageSize = Annotated[int, Query(alias="page[size]", ge=1, le=MAX_PAGE_SIZE)]
Search = Annotated[str | None, Query(alias="search[name]", max_length=90)]
SearchTags = Annotated[str | None, Query(alias="search[tags]", max_length=2000)]
ExcludeTags = Annotated[str | None, Query(alias="search[exclude-tags]", max_length=2000)]
WildcardName = Annotated[str | None, Query(alias="search[wildcard-name]", max_length=90)]
_TAGGED = re.compile(r"^filter\[tagged\]\[(\d{1,3})\]\[(key|value)\]$")


@router.get(ORGANIZATION_WORKSPACES, include_in_schema=False)
def list_workspaces(
    organization: str,
    name: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
    request: Request,
    page_number: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
    search: Search = None,
    search_tags: SearchTags = None,
    exclude_tags: ExcludeTags = None,
    wildcard_name: WildcardName = None,
) -> Response[str]:
    """The workspaces the token sees, in name order, filtered as TFE filters them: a name
    containing ``search[name]``; every tag of ``search[tags]`` (keys), none of
    ``search[exclude-tags]``; each ``filter[tagged][i]`` key with its value."""
    tagged = _tagged(request.query_parameters or {})
    wanted = _names(search_tags)
    unwanted = _names(exclude_tags)

    def matches(workspace: Workspace) -> bool:
        return (
            (search is None or search.lower() in workspace.name.lower())
            and (
                wildcard_name is None
                or fnmatch.fnmatchcase(workspace.name.lower(), wildcard_name.lower())
            )
            and all(tag in workspace.tags for tag in wanted)
            and not any(tag in workspace.tags for tag in unwanted)
            and all(
                key in workspace.tags and (value is None or workspace.tags[key] == value)
                for key, value in tagged
            )
        )

    found = [w for w in _all_workspaces(service, caller) if matches(w)]
    start = (page_number - 1) * page_size
    items = [workspace_resource(w, caller, name, states) for w in found[start : start + page_size]]
    return reply(Document(data=items, meta=page_meta(page_number, page_size, len(found))))


def _all_workspaces(service: WorkspaceService, caller: Principal) -> list[Workspace]:
    """Every workspace the token sees, by name (a stack has hundreds, not millions: the list
    is read whole to filter it, as TFE's search does)."""
    workspaces = every_item(lambda cursor: service.page(caller, MAX_PAGE_SIZE, cursor))
    return sorted(workspaces, key=lambda w: w.name.lower())


def _names(listed: str | None) -> list[str]:
    return [name.strip() for name in (listed or "").split(",") if name.strip()]


def _tagged(query: dict[str, str]) -> list[tuple[str, str | None]]:
    """``filter[tagged][i][key]`` and ``[value]`` pairs; a key without a value matches any."""
    keys: dict[int, str] = {}
    values: dict[int, str] = {}
    for parameter, value in query.items():
        match = _TAGGED.match(parameter)
        if match:
            (keys if match[2] == "key" else values)[int(match[1])] = value
    for index in values.keys() - keys.keys():
        raise InvalidInput(
            f"filter[tagged][{index}][value] needs its filter[tagged][{index}][key].",
            parameter=f"filter[tagged][{index}][key]",
        )
    return [(keys[i], values.get(i)) for i in sorted(keys)]


@router.post(ORGANIZATION_WORKSPACES, include_in_schema=False)
def create_workspace(
    organization: str,
    name: Organization,
    body: WorkspaceBody,
    caller: Caller,
    service: Workspaces,
    states: States,
    runner: RunnerTerraform,
) -> Response[str]:
    changes = _changes(body.data, None, runner)
    with tfe_pointers():
        created = service.create(caller, iacp_model(WorkspaceCreate, changes))
    return reply(Document(data=workspace_resource(created, caller, name, states)), 201)


@router.get(f"{ORGANIZATION_WORKSPACES}/<workspace_name>", include_in_schema=False)
def get_workspace_by_name(
    organization: str,
    workspace_name: ResourceId,
    name: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
) -> Response[str]:
    workspace = service.get_by_name(caller, workspace_name)
    return reply(Document(data=workspace_resource(workspace, caller, name, states)))


@router.patch(f"{ORGANIZATION_WORKSPACES}/<workspace_name>", include_in_schema=False)
def update_workspace_by_name(
    organization: str,
    workspace_name: ResourceId,
    name: Organization,
    body: WorkspaceBody,
    caller: Caller,
    service: Workspaces,
    states: States,
    runner: RunnerTerraform,
) -> Response[str]:
    workspace = service.get_by_name(caller, workspace_name)
    return _updated(workspace, body, caller, name, service, states, runner)


@router.get(WORKSPACE, include_in_schema=False)
def get_workspace(
    workspace_id: ResourceId,
    organization: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    workspace = service.get(caller, workspace_id)
    return reply(Document(data=workspace_resource(workspace, caller, organization, states)))


@router.patch(WORKSPACE, include_in_schema=False)
def update_workspace(
    workspace_id: ResourceId,
    body: WorkspaceBody,
    organization: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
    runner: RunnerTerraform,
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    workspace = service.get(caller, workspace_id)
    return _updated(workspace, body, caller, organization, service, states, runner)


def _updated(
    workspace: Workspace,
    body: WorkspaceBody,
    caller: Principal,
    organization: str,
    service: WorkspaceService,
    states: StateService,
    runner: str,
) -> Response[str]:
    request = iacp_model(WorkspaceUpdate, _changes(body.data, workspace, runner))
    with tfe_pointers():
        updated = service.update(caller, workspace.id, request)
    return reply(Document(data=workspace_resource(updated, caller, organization, states)))


# --- the lock ------------------------------------------------------------------------------


class LockBody(Model):
    """``{"reason"}`` (TFE's documented body), or the same as JSON:API attributes."""

    model_config = ConfigDict(extra="ignore")

    class Data(Model):
        model_config = ConfigDict(extra="ignore")
        attributes: LockRequest = Field(default_factory=LockRequest)

    reason: str | None = Field(None, max_length=500)
    data: Data | None = None

    def lock_request(self) -> LockRequest:
        if self.reason is not None:
            return LockRequest(reason=self.reason)
        return self.data.attributes if self.data is not None else LockRequest()


@router.post(f"{WORKSPACE}/actions/lock", include_in_schema=False)
def lock_workspace(
    workspace_id: ResourceId,
    organization: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
    body: Annotated[LockBody | None, Body()] = None,
) -> Response[str]:
    """A lock taken by a token, the same lock a run takes: 409 while anyone holds it (go-tfe's
    ErrWorkspaceLocked)."""
    visible_workspace(caller, workspace_id)
    locked = service.lock(caller, workspace_id, (body or LockBody()).lock_request())
    return reply(Document(data=workspace_resource(locked, caller, organization, states)))


@router.post(f"{WORKSPACE}/actions/unlock", include_in_schema=False)
def unlock_workspace(
    workspace_id: ResourceId,
    organization: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
) -> Response[str]:
    """Only the holder unlocks. A refusal is a 409 in TFE's words, which go-tfe reads: "is
    locked by Run" or "is locked by User" (another token), or "is not locked"."""
    visible_workspace(caller, workspace_id)
    try:
        unlocked = service.unlock(caller, workspace_id)
    except Conflict:
        lock = service.get(caller, workspace_id).lock
        if lock is None:
            raise Conflict(f"Workspace {workspace_id} is not locked.") from None
        holder = "Run" if lock.holder.startswith("run-") else "User"
        raise Conflict(
            f"Workspace {workspace_id} is locked by {holder} {lock.holder}; only its holder "
            "can unlock it, or an admin with force-unlock."
        ) from None
    return reply(Document(data=workspace_resource(unlocked, caller, organization, states)))


@router.post(f"{WORKSPACE}/actions/force-unlock", include_in_schema=False)
def force_unlock_workspace(
    workspace_id: ResourceId,
    organization: Organization,
    caller: Caller,
    service: Workspaces,
    states: States,
) -> Response[str]:
    """Whoever holds the lock, a run included (admin)."""
    visible_workspace(caller, workspace_id)
    unlocked = service.force_unlock(caller, workspace_id)
    return reply(Document(data=workspace_resource(unlocked, caller, organization, states)))


# --- tags ----------------------------------------------------------------------------------


class TagBindingAttributes(Attributes):
    key: str
    value: str


class TagAttributes(Attributes):
    name: str


def _tag_id(prefix: str, workspace_id: str, key: str) -> str:
    """A stable id for a tag (go-tfe drops a resource without one)."""
    return f"{prefix}-{hashlib.sha256(f'{workspace_id}/{key}'.encode()).hexdigest()[:16]}"


def _bindings(workspace: Workspace) -> list[Resource[TagBindingAttributes]]:
    return [
        Resource(
            id=_tag_id("tb", workspace.id, key),
            type="tag-bindings",
            attributes=TagBindingAttributes(key=key, value=value),
        )
        for key, value in sorted(workspace.tags.items())
    ]


def _retagged(
    caller: Principal,
    service: WorkspaceService,
    workspace_id: str,
    change: Callable[[dict[str, str]], dict[str, str]],
) -> Workspace:
    """The workspace with its tags changed through the service (its rules and role check)."""
    visible_workspace(caller, workspace_id)
    current = service.get(caller, workspace_id)
    tags = change(dict(current.tags))
    return service.update(caller, workspace_id, iacp_model(WorkspaceUpdate, {"tags": tags}))


@router.get(f"{WORKSPACE}/tag-bindings", include_in_schema=False)
def list_tag_bindings(
    workspace_id: ResourceId, caller: Caller, service: Workspaces
) -> Response[str]:
    visible_workspace(caller, workspace_id)
    return reply(Document(data=_bindings(service.get(caller, workspace_id))))


class TagBindingsBody(Model):
    model_config = ConfigDict(extra="ignore")
    data: list[TagBindingIn] = Field(max_length=MAX_TAGS)


@router.patch(f"{WORKSPACE}/tag-bindings", include_in_schema=False)
def add_tag_bindings(
    workspace_id: ResourceId, body: TagBindingsBody, caller: Caller, service: Workspaces
) -> Response[str]:
    """Adds the bindings, or changes the value of a key the workspace has."""
    given = {binding.attributes.key: binding.attributes.value for binding in body.data}
    updated = _retagged(caller, service, workspace_id, lambda tags: tags | given)
    return reply(Document(data=_bindings(updated)))


class TagsBody(Model):
    model_config = ConfigDict(extra="ignore")
    data: list[TagIn] = Field(max_length=MAX_TAGS)


@router.get(f"{WORKSPACE}/relationships/tags", include_in_schema=False)
def list_tags(workspace_id: ResourceId, caller: Caller, service: Workspaces) -> Response[str]:
    visible_workspace(caller, workspace_id)
    workspace = service.get(caller, workspace_id)
    tags: list[Resource[TagAttributes]] = [
        Resource(
            id=_tag_id("tag", workspace.id, key), type="tags", attributes=TagAttributes(name=key)
        )
        for key in sorted(workspace.tags)
    ]
    return reply(Document(data=tags, meta=page_meta(1, max(1, len(tags)), len(tags))))


@router.post(f"{WORKSPACE}/relationships/tags", include_in_schema=False)
def add_tags(
    workspace_id: ResourceId, body: TagsBody, caller: Caller, service: Workspaces
) -> Response[str]:
    """Legacy tags (names): added with the value '', a key the workspace has keeps its value."""
    names = [_tag_name(tag) for tag in body.data]
    _retagged(caller, service, workspace_id, lambda tags: dict.fromkeys(names, "") | tags)
    return Response(204, None, "")


@router.delete(f"{WORKSPACE}/relationships/tags", include_in_schema=False)
def remove_tags(
    workspace_id: ResourceId, body: TagsBody, caller: Caller, service: Workspaces
) -> Response[str]:
    """Tags named by their name, or by the id the tag list gave them."""

    def without(tags: dict[str, str]) -> dict[str, str]:
        ids = {tag.id for tag in body.data if tag.id is not None}
        names = {tag.attributes.name for tag in body.data if tag.attributes is not None}
        return {
            key: value
            for key, value in tags.items()
            if key not in names and _tag_id("tag", workspace_id, key) not in ids
        }

    _retagged(caller, service, workspace_id, without)
    return Response(204, None, "")
