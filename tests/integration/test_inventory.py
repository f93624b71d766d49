"""The resource inventory (issue 7, point 5): after an apply, the workspace's resources are
indexed from its new state on the durable path (the runs table's stream → the run events bus
→ RunAppliedRule → InventoryQueue → InventorySyncFunction, driven as Lambda's event-source
mappings would by ``local.streams`` and ``local.queues``); the API lists them per workspace
and finds them across workspaces; a sync stuck past its deadline is reset by the sweep."""

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from iacp.artifacts import S3ArtifactStore
from iacp.inventory.models import ResourceInstance, SyncStatus, SyncTarget
from iacp.inventory.store import DynamoResourceStore
from iacp.inventory.sync import InventorySyncer, StateReader
from iacp.principal import Role
from iacp.settings import InventorySettings
from iacp.states.files import read_state_file
from iacp.states.store import DynamoStateStore
from iacp.timestamps import to_iso, utcnow
from local.queues import QueuePoller
from local.streams import StreamPoller
from local.template import Provisioned
from tests.conftest import ApiClient, assert_error, mint
from tests.runs_support import applied_run, upload_configuration

TERRAFORM = 'provider["terraform.io/builtin/terraform"]'
AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
BUCKET_ARN = "arn:aws:s3:::iacp-inventory-logs"
TERRAFORM_DATA = {"type": "terraform_data"}


def terraform_data(name: str, *instances: tuple[Any, str], module: str | None = None) -> dict:
    """A terraform_data resource as Terraform 1.x writes it to the state: ``instances`` are
    (index_key or None, id)."""
    resource: dict[str, Any] = {
        "mode": "managed",
        "type": "terraform_data",
        "name": name,
        "provider": TERRAFORM,
        "instances": [
            {"schema_version": 0, "attributes": _data_attributes(id_), "sensitive_attributes": []}
            | ({} if key is None else {"index_key": key})
            for key, id_ in instances
        ],
    }
    return resource if module is None else {"module": module, **resource}


def _data_attributes(id_: str) -> dict[str, Any]:
    value = {"value": "x", "type": "string"}
    return {"id": id_, "input": value, "output": value, "triggers_replace": None}


BUCKET = {
    "mode": "managed",
    "type": "aws_s3_bucket",
    "name": "logs",
    "provider": AWS,
    "instances": [
        {
            "schema_version": 0,
            "attributes": {
                "arn": BUCKET_ARN,
                "bucket": "iacp-inventory-logs",
                "id": "iacp-inventory-logs",
                "tags": {"team": "platform"},
                "tags_all": {"team": "platform", "managed-by": "iacp"},
            },
            "sensitive_attributes": [],
        }
    ],
}
SECRET_TAGGED = {
    "mode": "managed",
    "type": "aws_ssm_parameter",
    "name": "token",
    "provider": AWS,
    "instances": [
        {
            "schema_version": 0,
            "attributes": {
                "arn": "arn:aws:ssm:us-east-1:123456789012:parameter/token",
                "id": "token",
                "tags": {"owner": "secret-owner"},
                "tags_all": {"owner": "secret-owner"},
            },
            "sensitive_attributes": [
                [{"type": "get_attr", "value": "tags"}],
                [{"type": "get_attr", "value": "tags_all"}],
            ],
        }
    ],
}
DATA_SOURCE = {
    "mode": "data",
    "type": "aws_caller_identity",
    "name": "current",
    "provider": AWS,
    "instances": [{"schema_version": 0, "attributes": {"id": "123456789012"}}],
}
FIRST_STATE = [
    terraform_data("single", (None, "3c0d6a0e-0a3b-4f1e-9a57-000000000001")),
    terraform_data("counted", (0, "id-counted-0"), (1, "id-counted-1")),
    terraform_data("each", ("a", "id-each-a"), ("b", "id-each-b")),
    terraform_data("inner", (None, "id-inner"), module="module.child"),
    BUCKET,
    SECRET_TAGGED,
    DATA_SOURCE,
]
FIRST_ADDRESSES = [
    "aws_s3_bucket.logs",
    "aws_ssm_parameter.token",
    "module.child.terraform_data.inner",
    "terraform_data.counted[0]",
    "terraform_data.counted[1]",
    'terraform_data.each["a"]',
    'terraform_data.each["b"]',
    "terraform_data.single",
]


@pytest.fixture
def pollers(stream_poller, queue_poller) -> tuple[StreamPoller, QueuePoller]:
    return stream_poller, queue_poller("InventorySyncFunction")


def deliver(pollers: tuple[StreamPoller, QueuePoller]) -> None:
    """What Lambda's event-source mappings do: the runs' changes reach the bus, and the
    queues' messages their functions."""
    streams, queues = pollers
    streams.poll()
    queues.poll()


def applied_workspace(
    aws: Provisioned, admin: ApiClient, name: str, resources: list[dict], serial: int = 1
) -> tuple[str, str]:
    workspace_id = admin.post("/workspaces", {"name": name}).json()["id"]
    upload_configuration(admin, aws, workspace_id)
    run_id = applied_run(aws, admin, workspace_id, serial=serial, resources=resources)
    return workspace_id, run_id


def listed(client: ApiClient, workspace_id: str) -> dict[str, dict[str, Any]]:
    items = client.list_all(f"/workspaces/{workspace_id}/resources", limit=3)
    return {item["address"]: item for item in items}


def test_an_apply_indexes_every_managed_resource_of_the_new_state(aws, admin, pollers):
    ws, run_id = applied_workspace(aws, admin, "indexed", FIRST_STATE, serial=4)
    before = admin.get(f"/workspaces/{ws}/resources").json()
    assert before == {"items": [], "next_cursor": None, "sync": None}

    deliver(pollers)

    page = admin.get(f"/workspaces/{ws}/resources", query={"limit": "100"}).json()
    assert [item["address"] for item in page["items"]] == FIRST_ADDRESSES  # no data source
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    sync = page["sync"]
    assert sync["status"] == "synced"
    assert (sync["state_version_id"], sync["serial"], sync["run_id"]) == (state["id"], 4, run_id)
    assert (sync["synced_serial"], sync["resource_count"], sync["attempts"]) == (4, 8, 1)
    assert sync["error"] is None and sync["deadline"] is None

    resources = listed(admin, ws)  # page by page, 3 at a time
    assert list(resources) == FIRST_ADDRESSES
    bucket = resources["aws_s3_bucket.logs"]
    assert bucket["id"].startswith("wsr-")
    assert {k: v for k, v in bucket.items() if k not in {"id", "created_at", "updated_at"}} == {
        "workspace_id": ws,
        "address": "aws_s3_bucket.logs",
        "module": None,
        "type": "aws_s3_bucket",
        "name": "logs",
        "index_key": None,
        "provider": "registry.terraform.io/hashicorp/aws",
        "cloud_id": BUCKET_ARN,  # the ARN rather than the id
        "tags": {"team": "platform", "managed-by": "iacp"},  # tags_all: with default tags
        "state_version_id": state["id"],
        "serial": 4,
        "run_id": run_id,
    }
    assert resources["aws_ssm_parameter.token"]["tags"] == {}  # sensitive tags stay in state
    inner = resources["module.child.terraform_data.inner"]
    assert (inner["module"], inner["name"], inner["cloud_id"]) == (
        "module.child",
        "inner",
        "id-inner",
    )
    assert inner["provider"] == "terraform.io/builtin/terraform"
    assert resources["terraform_data.counted[1]"]["index_key"] == 1
    assert resources['terraform_data.each["b"]']["index_key"] == "b"
    assert resources['terraform_data.each["b"]']["cloud_id"] == "id-each-b"


def test_resources_are_found_across_workspaces_by_type_and_cloud_id(aws, admin, gateway, pollers):
    ws, _ = applied_workspace(aws, admin, "storage", FIRST_STATE)
    other, _ = applied_workspace(
        aws, admin, "elsewhere", [terraform_data("single", (None, "id-elsewhere"))]
    )
    deliver(pollers)

    found = admin.get("/resources", query={"id": BUCKET_ARN}).json()
    assert [(r["workspace_id"], r["address"]) for r in found["items"]] == [
        (ws, "aws_s3_bucket.logs")
    ]
    by_both = admin.get("/resources", query={"id": BUCKET_ARN, "type": "aws_s3_bucket"}).json()
    assert by_both["items"] == found["items"]
    assert admin.get("/resources", query={"id": BUCKET_ARN, "type": "x"}).json()["items"] == []
    assert admin.get("/resources", query={"id": "arn:aws:s3:::nothing"}).json()["items"] == []

    reader = admin.with_token(mint(aws, Role.READ))
    everywhere = reader.list_all("/resources", limit=2, query=TERRAFORM_DATA)
    assert {(r["workspace_id"], r["address"]) for r in everywhere} == {
        (other, "terraform_data.single"),
        *((ws, a) for a in FIRST_ADDRESSES if a.startswith(("terraform_data", "module"))),
    }

    # A token limited to a workspace finds only its resources, and sees no other inventory.
    limited = admin.with_token(mint(aws, Role.READ, workspaces=[other]))
    mine = limited.list_all("/resources", query=TERRAFORM_DATA)
    assert [(r["workspace_id"], r["address"]) for r in mine] == [(other, "terraform_data.single")]
    assert limited.get("/resources", query={"id": BUCKET_ARN}).json()["items"] == []
    assert_error(limited.get(f"/workspaces/{ws}/resources"), 403)

    # A deleted workspace's inventory goes with it.
    assert admin.delete(f"/workspaces/{other}").status == 204
    assert {r["workspace_id"] for r in reader.list_all("/resources", query=TERRAFORM_DATA)} == {ws}
    table = boto3.resource("dynamodb").Table(aws.refs["ResourcesTable"])
    assert table.query(KeyConditionExpression=Key("pk").eq(other))["Items"] == []


def test_an_apply_that_removes_resources_removes_them_from_the_inventory(aws, admin, pollers):
    ws, _ = applied_workspace(aws, admin, "shrinking", FIRST_STATE, serial=1)
    deliver(pollers)
    first = listed(admin, ws)

    kept = [terraform_data("single", (None, "3c0d6a0e-0a3b-4f1e-9a57-000000000001")), BUCKET]
    second_run = applied_run(aws, admin, ws, serial=2, resources=kept)
    deliver(pollers)

    second = listed(admin, ws)
    assert list(second) == ["aws_s3_bucket.logs", "terraform_data.single"]
    single = second["terraform_data.single"]
    assert (single["serial"], single["run_id"]) == (2, second_run)
    assert single["id"] == first["terraform_data.single"]["id"]
    assert single["created_at"] == first["terraform_data.single"]["created_at"]
    assert admin.get("/resources", query={"id": "id-counted-0"}).json()["items"] == []
    sync = admin.get(f"/workspaces/{ws}/resources").json()["sync"]
    assert (sync["status"], sync["synced_serial"], sync["resource_count"]) == ("synced", 2, 2)


def syncer_for(
    aws: Provisioned, clock: "Clock", read_state: StateReader | None = None, max_attempts: int = 3
) -> InventorySyncer:
    """The sync and sweep the functions run, on a clock the test moves."""
    settings = InventorySettings.model_validate(aws.environment("InventorySyncFunction"))
    return InventorySyncer(
        DynamoResourceStore(settings.resources_table),
        DynamoStateStore(settings.workspaces_table),
        read_state or partial(read_state_file, S3ArtifactStore(settings.artifacts_bucket)),
        deadline=timedelta(seconds=settings.inventory_sync_deadline_seconds),
        max_attempts=max_attempts,
        clock=clock,
    )


class Clock:
    """Starts at the real time: the functions the pollers drive go by that one."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def run_event(workspace_id: str, run_id: str, status: str = "applied") -> dict[str, Any]:
    """A "Run Status Changed" event as the rule delivers it."""
    api = "https://example.test/api/v1"
    detail = {
        "event_id": "runevt-x",
        "run_id": run_id,
        "workspace_id": workspace_id,
        "status": status,
        "previous_status": "applying",
        "timestamp": "2026-01-01T00:00:00Z",
        "operation": "plan_and_apply",
        "is_speculative": False,
        "message": "",
        "created_by": "at-x",
        "created_at": "2026-01-01T00:00:00Z",
        "links": {"run": f"{api}/runs/{run_id}", "workspace": f"{api}/workspaces/{workspace_id}"},
    }
    return {"source": "iacp", "detail-type": "Run Status Changed", "detail": detail}


def test_a_late_or_repeated_sync_never_overwrites_a_newer_inventory(aws, admin, pollers):
    ws, first_run = applied_workspace(aws, admin, "newer", FIRST_STATE, serial=1)
    deliver(pollers)
    old_sv = admin.get(f"/workspaces/{ws}/resources").json()["sync"]["state_version_id"]
    applied_run(aws, admin, ws, serial=2, resources=[BUCKET])
    deliver(pollers)
    newest = admin.get(f"/workspaces/{ws}/resources").json()
    syncer = syncer_for(aws, Clock())

    # The first apply's event, delivered again: the newer state is indexed already.
    again = syncer.run_applied(run_event(ws, first_run))
    assert again is not None and again.synced_serial == 2
    assert admin.get(f"/workspaces/{ws}/resources").json() == newest
    assert syncer.run_applied(run_event(ws, first_run, status="errored")) is None

    # A worker that was still indexing the older state writes its entries late: they never
    # replace the newer ones, and its clean-up removes nothing the newer state has.
    store = DynamoResourceStore(aws.refs["ResourcesTable"])
    old = SyncTarget(state_version_id=old_sv, serial=1, run_id=first_run)
    stale = ResourceInstance(
        address="aws_s3_bucket.logs",
        module=None,
        type="aws_s3_bucket",
        name="logs",
        provider="registry.terraform.io/hashicorp/aws",
        cloud_id="arn:aws:s3:::old",
    )
    store.put_resources(ws, old, [stale], datetime.now(UTC))
    assert store.remove_older(ws, 1) == 0
    assert admin.get(f"/workspaces/{ws}/resources").json() == newest


class WorkerDied(BaseException):
    """The sync function's process ended mid-attempt (a timeout, a crash): nothing it would
    have done afterwards happens, not even releasing its claim."""


def dies(key: str) -> dict[str, Any]:
    raise WorkerDied


def test_a_stuck_sync_is_reset_by_its_deadline_and_synced_again(aws, admin, pollers):
    ws, run_id = applied_workspace(aws, admin, "stuck", FIRST_STATE, serial=3)
    clock = Clock()
    with pytest.raises(WorkerDied):
        syncer_for(aws, clock, read_state=dies).run_applied(run_event(ws, run_id))

    stuck = admin.get(f"/workspaces/{ws}/resources").json()
    assert stuck["items"] == []
    assert stuck["sync"]["status"] == "syncing"
    assert stuck["sync"]["attempts"] == 1
    started = clock.now
    assert stuck["sync"]["deadline"] == to_iso(started + timedelta(seconds=300))  # the template's

    # The queue's redelivery finds the attempt under way and leaves it alone.
    deliver(pollers)
    assert admin.get(f"/workspaces/{ws}/resources").json() == stuck

    syncer = syncer_for(aws, clock)
    clock.now += timedelta(seconds=299)
    assert syncer.sweep().due == 0  # not yet
    clock.now += timedelta(seconds=2)
    report = syncer.sweep()

    assert (report.due, report.retried) == (1, 1)
    after = admin.get(f"/workspaces/{ws}/resources", query={"limit": "100"}).json()
    assert [item["address"] for item in after["items"]] == FIRST_ADDRESSES
    assert after["sync"]["status"] == "synced"
    assert after["sync"]["attempts"] == 2
    assert after["sync"]["finished_at"] == to_iso(started + timedelta(seconds=301))
    assert syncer.sweep().due == 0


def test_a_sync_that_keeps_failing_ends_failed_with_its_error_visible(aws, admin):
    ws, run_id = applied_workspace(aws, admin, "failing", FIRST_STATE, serial=3)
    clock = Clock()
    with pytest.raises(WorkerDied):
        syncer_for(aws, clock, read_state=dies).run_applied(run_event(ws, run_id))

    def unreadable(key: str) -> dict[str, Any]:
        return dict(json.loads("not json"))

    syncer = syncer_for(aws, clock, read_state=unreadable, max_attempts=2)
    clock.now += timedelta(minutes=6)
    assert syncer.sweep().retried == 1

    sync = admin.get(f"/workspaces/{ws}/resources").json()["sync"]
    assert sync["status"] == SyncStatus.FAILED
    assert sync["attempts"] == 2
    assert sync["error"] == "Gave up after 2 attempts. Last: JSONDecodeError: indexing failed"
    # A redelivered event does not start the state it gave up on again; a new apply would.
    assert syncer.run_applied(run_event(ws, run_id)).status == SyncStatus.FAILED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({}, "type"),
        ({"type": "aws s3"}, "type"),
        ({"type": ""}, "type"),
        ({"id": ""}, "id"),
        ({"id": "x" * 2049}, "id"),
        ({"type": "terraform_data", "limit": "0"}, "limit"),
        ({"type": "terraform_data", "cursor": "nonsense"}, "cursor"),
    ],
)
def test_a_bad_search_is_a_422_naming_the_parameter(admin, query, parameter):
    error = assert_error(admin.get("/resources", query=query), 422)
    assert error["source"] == {"parameter": parameter}


def test_a_cursor_from_another_list_is_refused(aws, admin, pollers):
    ws, _ = applied_workspace(aws, admin, "paged", FIRST_STATE)
    deliver(pollers)
    by_type = admin.get("/resources", query={"type": "terraform_data", "limit": "1"}).json()
    listed_page = admin.get(f"/workspaces/{ws}/resources", query={"limit": "1"}).json()

    cursor = by_type["next_cursor"]
    wrong_type = {"type": "aws_s3_bucket", "cursor": cursor}
    assert_error(admin.get("/resources", query=wrong_type), 422)
    assert_error(admin.get("/resources", query={"id": BUCKET_ARN, "cursor": cursor}), 422)
    assert_error(admin.get(f"/workspaces/{ws}/resources", query={"cursor": cursor}), 422)
    other = admin.post("/workspaces", {"name": "unrelated"}).json()["id"]
    foreign = {"cursor": listed_page["next_cursor"]}
    assert_error(admin.get(f"/workspaces/{other}/resources", query=foreign), 422)
    assert_error(admin.get("/workspaces/ws-AAAAAAAAAAAAAAAA/resources"), 404)


def queued_syncs(aws: Provisioned) -> int:
    queue_url = aws.refs["InventoryQueue"]
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_a_sync_that_failed_for_good_starts_over_when_asked(aws, admin, pollers):
    ws, run_id = applied_workspace(aws, admin, "asked", FIRST_STATE, serial=3)

    def unreadable(key: str) -> dict[str, Any]:
        return dict(json.loads("not json"))

    with pytest.raises(json.JSONDecodeError):
        syncer_for(aws, Clock(), read_state=unreadable, max_attempts=1).run_applied(
            run_event(ws, run_id)
        )
    failed = admin.get(f"/workspaces/{ws}/resources").json()["sync"]
    assert failed["status"] == "failed"
    writer = ApiClient(admin.gateway, mint(aws, Role.WRITE))

    reply = writer.post(f"/workspaces/{ws}/actions/sync-resources")

    assert reply.status == 202, reply.body
    state = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert reply.json() == {
        "workspace_id": ws,
        "state_version_id": state["id"],
        "serial": 3,
        "sync": failed,  # as it stood: the sync runs on the queue
    }
    _, queue = pollers
    queue.poll()  # only the request: the apply's own event never reached the queue here
    after = admin.get(f"/workspaces/{ws}/resources", query={"limit": "100"}).json()
    assert [item["address"] for item in after["items"]] == FIRST_ADDRESSES
    assert after["sync"]["status"] == "synced"
    assert after["sync"]["attempts"] == 1  # started over, with all its attempts
    assert after["sync"]["error"] is None


def test_asking_for_an_inventory_that_is_up_to_date_changes_nothing(aws, admin, pollers):
    ws, _ = applied_workspace(aws, admin, "current", FIRST_STATE)
    deliver(pollers)
    before = admin.get(f"/workspaces/{ws}/resources", query={"limit": "100"}).json()
    assert before["sync"]["status"] == "synced"

    assert admin.post(f"/workspaces/{ws}/actions/sync-resources").status == 202
    deliver(pollers)

    assert admin.get(f"/workspaces/{ws}/resources", query={"limit": "100"}).json() == before


def test_a_sync_request_that_cannot_be_served_is_refused_and_sends_nothing(aws, admin):
    ws, _ = applied_workspace(aws, admin, "guarded", FIRST_STATE)
    stateless = admin.post("/workspaces", {"name": "stateless"}).json()["id"]
    reader = ApiClient(admin.gateway, mint(aws, Role.READ))
    limited = ApiClient(admin.gateway, mint(aws, Role.WRITE, workspaces=[stateless]))
    before = queued_syncs(aws)

    assert_error(admin.post(f"/workspaces/{stateless}/actions/sync-resources"), 409)
    assert_error(reader.post(f"/workspaces/{ws}/actions/sync-resources"), 403)
    assert_error(limited.post(f"/workspaces/{ws}/actions/sync-resources"), 403)
    assert_error(admin.post("/workspaces/ws-AAAAAAAAAAAAAAAA/actions/sync-resources"), 404)

    assert queued_syncs(aws) == before
