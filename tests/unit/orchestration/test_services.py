"""The services on the fakes: the run actions' conditions, workspace locks, configuration
versions settling, the current state, and notification configurations and deliveries."""

import json
from typing import Any

import pytest

from iacp.crypto import Sealer
from iacp.errors import Conflict, Forbidden, InvalidInput, NotFound
from iacp.notifications.delivery import DeliveryFailed, NotificationDispatcher
from iacp.notifications.models import (
    DeliveryStatus,
    NotificationConfigurationCreate,
    NotificationConfigurationUpdate,
)
from iacp.notifications.service import NotificationService
from iacp.orchestration.steps import RunNotRunnable
from iacp.orchestration.workflow import RunRef
from iacp.outbound import Outbound, PostOutcome
from iacp.principal import Principal, Role
from iacp.receives import Attempt
from iacp.runs.events import DETAIL_TYPE, run_events
from iacp.runs.models import RunAction, RunCreate
from iacp.runs.phase import Phase, log_prefix, plan_json_key
from iacp.runs.status import RunStatus
from iacp.workspaces.models import LockRequest
from tests.fakes.notifications import InMemoryDeliveryLog, InMemoryNotificationStore
from tests.unit.orchestration.conftest import ADMIN, GZIP_ARCHIVE, WRITER, World
from tests.unit.orchestration.test_run_workflow import holder

READER = Principal(token_id="at-reader", role=Role.READ)
SEALER = Sealer(bytes(32))


# --- runs --------------------------------------------------------------------------------


def test_a_run_needs_an_uploaded_configuration(world: World):
    ws = world.workspace()
    with pytest.raises(InvalidInput, match="no configuration version"):
        world.run_service.create(ADMIN, ws, RunCreate())
    version = world.configurations.create(ADMIN, ws)
    with pytest.raises(InvalidInput, match=r"upload its \.tar\.gz first"):
        world.run_service.create(ADMIN, ws, RunCreate())
    world.objects.put(version.object_key(), b"not gzip")
    with pytest.raises(InvalidInput, match="not a gzip archive"):
        world.run_service.create(ADMIN, ws, RunCreate())


def test_only_a_planned_run_is_confirmed_and_only_once(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    with pytest.raises(Conflict, match="is pending"):
        world.run_service.apply(ADMIN, run_id, RunAction())
    world.planned(run_id)

    confirmed = world.run_service.apply(WRITER, run_id, RunAction(comment="go"))

    assert confirmed.status is RunStatus.CONFIRMED
    with pytest.raises(Conflict):
        world.run_service.discard(ADMIN, run_id, RunAction())
    assert world.workflow.resumed == [("confirm-token", {"decision": "apply"})]


def test_canceling_a_waiting_run_just_ends_it(world: World):
    ws = world.workspace()
    first = world.new_run(ws)
    waiting = world.new_run(ws)

    canceled = world.run_service.cancel(ADMIN, waiting, RunAction())

    assert canceled.status is RunStatus.CANCELED
    assert world.workflow.stopped == []
    with pytest.raises(Conflict, match="already ended"):
        world.run_service.cancel(ADMIN, waiting, RunAction())
    assert world.run(first).status is RunStatus.PENDING


def test_canceling_a_run_the_queue_just_claimed_gives_the_workspace_to_the_next(world: World):
    ws = world.workspace()
    claimed = world.new_run(ws)  # the queue claimed it and started its execution...
    waiting = world.new_run(ws)
    world.runs.update(claimed, {}, remove=("execution_arn",))  # ...not recorded on it yet
    assert holder(world, ws) == (claimed, None)

    canceled = world.run_service.cancel(ADMIN, claimed, RunAction())

    assert canceled.status is RunStatus.CANCELED
    assert holder(world, ws) == (waiting, None)
    with pytest.raises(RunNotRunnable):  # its execution's first step, late, takes nothing
        world.start(claimed)
    assert holder(world, ws) == (waiting, None)
    assert world.workflow.started == [claimed, waiting]


def test_canceling_a_run_whose_execution_never_started_gives_the_workspace_to_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    ws = world.workspace()
    # The queue claims the workspace for the run, then StartExecution fails (throttled).
    monkeypatch.setattr(world.workflow, "start", unavailable)
    claimed = world.new_run(ws)
    monkeypatch.undo()
    assert holder(world, ws) == (claimed, None)

    world.run_service.cancel(ADMIN, claimed, RunAction())

    assert holder(world, ws) == (None, None)  # no execution of it will ever give it back
    later = world.new_run(ws)
    assert holder(world, ws) == (later, None)


def test_a_run_whose_workflow_cannot_be_started_now_waits_for_the_periodic_check(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    ws = world.workspace()
    world.uploaded(ws)
    monkeypatch.setattr(world.workflow, "start", unavailable)

    run = world.run_service.create(ADMIN, ws, RunCreate())  # created: not an error to resend

    assert run.status is RunStatus.PENDING
    monkeypatch.undo()
    world.queue.start_waiting()
    assert world.workflow.started == [run.id]


def test_a_plan_only_run_whose_workflow_cannot_be_started_errors_saying_so(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    ws = world.workspace()
    world.uploaded(ws)
    monkeypatch.setattr(world.workflow, "start", unavailable)

    run = world.run_service.create(ADMIN, ws, RunCreate(operation="plan_only"))

    # It queues for nothing, so nothing would ever start it: it ends, and says why.
    assert run.status is RunStatus.ERRORED
    assert run.error is not None and "could not be started" in run.error.message
    assert holder(world, ws) == (None, None)


def unavailable(run_id: str) -> str:
    raise ConnectionError("Step Functions is unavailable")


def test_canceling_a_started_run_stops_its_workflow_and_force_cancel_comes_after(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.start(run_id)
    with pytest.raises(Conflict, match="Cancel run"):
        world.run_service.force_cancel(ADMIN, run_id, RunAction())

    world.run_service.cancel(ADMIN, run_id, RunAction(comment="oops"))

    arn = world.workflow.execution_arn(run_id)
    assert world.workflow.stopped == [(arn, "canceled by at-admin: oops")]
    assert world.run(run_id).status is RunStatus.FETCHING  # until the workflow stops
    forced = world.run_service.force_cancel(ADMIN, run_id, RunAction())
    assert forced.status is RunStatus.FORCE_CANCELED


def test_a_reader_cannot_act_on_runs(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    assert world.run_service.get(READER, run_id).id == run_id
    with pytest.raises(Forbidden):
        world.run_service.cancel(READER, run_id, RunAction())


def test_runs_are_listed_newest_first(world: World):
    ws = world.workspace()
    runs = [world.new_run(ws, operation="plan_only") for _ in range(3)]

    page = world.run_service.page(ADMIN, ws, 2, None)
    rest = world.run_service.page(ADMIN, ws, 2, page.next_cursor)

    assert [r.id for r in page.items + rest.items] == runs[::-1]


def test_logs_are_read_chunk_by_chunk_and_the_plan_served(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)
    prefix = log_prefix(run_id, Phase.PLAN)
    world.objects.put(prefix + "0", b"hello ")
    world.objects.put(prefix + "6", b"world")

    first = world.run_service.logs(ADMIN, run_id, Phase.PLAN, 0)
    assert (first.data, first.next_offset, first.complete) == ("hello world", 11, False)
    world.objects.put(prefix + "complete", b"")
    assert world.run_service.logs(ADMIN, run_id, Phase.PLAN, 11).complete is True

    with pytest.raises(NotFound):
        world.run_service.plan_json(ADMIN, run_id)
    world.objects.put(plan_json_key(run_id), b'{"format_version": "1.2"}')
    assert world.run_service.plan_json(ADMIN, run_id).body == b'{"format_version": "1.2"}'


# --- workspaces ------------------------------------------------------------------------------


def test_a_lock_is_held_once_and_released_only_by_its_holder(world: World):
    ws = world.workspace()
    world.workspaces.lock(WRITER, ws, LockRequest(reason="maintenance"))

    with pytest.raises(Conflict, match="already locked by at-writer"):
        world.workspaces.lock(ADMIN, ws, LockRequest(reason="me too"))
    with pytest.raises(Conflict, match="only the holder"):
        world.workspaces.unlock(ADMIN, ws)
    assert world.workspaces.force_unlock(ADMIN, ws).lock is None
    with pytest.raises(Conflict, match="not locked"):
        world.workspaces.unlock(WRITER, ws)


def test_a_busy_workspace_is_not_deleted(world: World):
    ws = world.workspace()
    run_id = world.new_run(ws)

    with pytest.raises(Conflict, match="active run"):
        world.workspaces.delete(ADMIN, ws)
    world.run_service.cancel(ADMIN, run_id, RunAction())
    world.run_service.force_cancel(ADMIN, run_id, RunAction())
    world.workspaces.delete(ADMIN, ws)
    assert world.workspace_store.get(ws) is None
    assert world.configuration_store.latest_id(ws) is None  # its items went with it


# --- configurations and states -------------------------------------------------------------


def test_a_configuration_version_settles_when_its_archive_arrives(world: World):
    ws = world.workspace()
    version = world.configurations.create(ADMIN, ws)
    assert version.upload_url is not None and version.object_key() in version.upload_url
    assert world.configurations.get(ADMIN, ws, version.id).status == "pending"

    world.objects.put(version.object_key(), GZIP_ARCHIVE)

    assert world.configurations.get(ADMIN, ws, version.id).status == "uploaded"
    stored = world.configuration_store.get(ws, version.id)
    assert stored is not None and stored.status == "uploaded"


def test_the_current_state_hides_sensitive_outputs_and_its_file_from_readers(world: World):
    ws = world.workspace(auto_apply=True)
    run_id = world.new_run(ws)
    world.applying(run_id)
    state = {
        "serial": 1,
        "lineage": "lin",
        "outputs": {"name": {"value": "x"}, "password": {"value": "p", "sensitive": True}},
    }
    world.objects.put(f"runs/{run_id}/apply/terraform.tfstate", json.dumps(state).encode())
    world.objects.put(f"runs/{run_id}/apply/result.json", b'{"phase": "apply"}')
    world.steps.record_apply(RunRef(run_id=run_id))

    shown = world.states.current(ADMIN, ws)
    read_only = world.states.current(READER, ws)

    assert shown.outputs["name"].value == "x"
    assert (shown.outputs["password"].value, shown.outputs["password"].sensitive) == (None, True)
    assert shown.download_url is not None and read_only.download_url is None
    with pytest.raises(NotFound):
        world.states.current(ADMIN, world.workspace("beta"))


# --- notifications -------------------------------------------------------------------------


@pytest.fixture
def configurations() -> InMemoryNotificationStore:
    return InMemoryNotificationStore()


@pytest.fixture
def deliveries() -> InMemoryDeliveryLog:
    return InMemoryDeliveryLog()


@pytest.fixture
def notifications(
    world: World, configurations: InMemoryNotificationStore, deliveries: InMemoryDeliveryLog
) -> NotificationService:
    return NotificationService(
        configurations,
        deliveries,
        world.workspace_store,
        sealer=lambda: SEALER,
        organization_name="acme",
        outbound=Outbound(),
        plain_http_allowed=False,
        topic_arn_prefix="arn:aws:sns:us-east-1:123456789012:iacp-",
        clock=world.clock,
    )


def webhook(**fields: Any) -> NotificationConfigurationCreate:
    return NotificationConfigurationCreate.model_validate(
        {
            "name": "ops",
            "destination_type": "generic",
            "url": "https://hooks.example/x",
            "triggers": ["run:errored"],
        }
        | fields
    )


def test_a_notification_configuration_keeps_its_url_sealed(
    world: World, notifications: NotificationService
):
    ws = world.workspace()
    created = notifications.create(ADMIN, ws, webhook(token="s3cret"))

    assert (created.url_origin, created.url_set, created.token_set) == (
        "https://hooks.example",
        True,
        True,
    )
    with pytest.raises(InvalidInput, match="https"):
        notifications.create(ADMIN, ws, webhook(url="http://hooks.example/x"))
    updated = notifications.update(
        ADMIN, created.id, NotificationConfigurationUpdate.model_validate({"enabled": False})
    )
    assert (updated.enabled, updated.url_set) == (False, True)
    notifications.delete(ADMIN, created.id)
    with pytest.raises(NotFound):
        notifications.get(ADMIN, created.id)


def test_a_run_event_is_delivered_once_per_configuration(
    world: World,
    notifications: NotificationService,
    configurations: InMemoryNotificationStore,
    deliveries: InMemoryDeliveryLog,
    monkeypatch: pytest.MonkeyPatch,
):
    ws = world.workspace()
    configuration = notifications.create(ADMIN, ws, webhook())
    sent: list[str] = []
    answers = [PostOutcome(False, "HTTP 503", 503), PostOutcome(True, "", 200)]

    def send(destination: Any, notification: Any, context: Any, outbound: Any) -> PostOutcome:
        sent.append(notification.trigger.value)
        return answers.pop(0)

    monkeypatch.setattr("iacp.notifications.delivery.send", send)
    dispatcher = NotificationDispatcher(
        configurations,
        deliveries,
        world.workspace_store,
        sealer=lambda: SEALER,
        organization_name="acme",
        outbound=Outbound(),
        clock=world.clock,
    )
    old = {"id": "run-1", "workspace_id": ws, "status": "planning", "status_timestamps": {}}
    new = old | {"status": "errored", "error": {"stage": "plan", "message": "bad"}}
    common: dict[str, Any] = {"created_at": "2026-03-01T11:00:00Z", "is_speculative": False}
    common |= {"operation": "plan_and_apply", "message": "", "created_by": "at-1"}
    [change] = run_events(new | common, old | common, "https://iacp.example", world.clock())
    event = {"id": "ev-1", "detail-type": DETAIL_TYPE, "detail": change.model_dump(mode="json")}

    with pytest.raises(DeliveryFailed, match="HTTP 503"):
        dispatcher.deliver(event, Attempt(receive_count=1, max_receives=3))
    world.clock.advance(600)  # past the first attempt's lease
    dispatcher.deliver(event, Attempt(receive_count=2, max_receives=3))
    dispatcher.deliver(event, Attempt(receive_count=3, max_receives=3))  # a duplicate

    assert sent == ["run:errored", "run:errored"]
    [delivery] = deliveries.page(configuration.id, 10, None)[0]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_a_run_at_its_post_plan_tasks_shows_its_plans_counts_before_they_are_recorded(
    world: World,
):
    """RecordPlan writes the counts after the post_plan tasks; a reader (the terraform CLI
    decides whether to ask for confirmation on ``has_changes``) sees them from the plan."""
    ws = world.workspace()
    run_id = world.new_run(ws)
    world.planning(run_id)
    world.plan_result(run_id, has_changes=True, resource_additions=2)
    world.runs.transition(run_id, RunStatus.POST_PLAN_RUNNING, world.clock())

    shown = world.run_service.get(ADMIN, run_id)

    assert (shown.has_changes, shown.resource_additions, shown.resource_destructions) == (
        True,
        2,
        0,
    )
    assert world.run(run_id).has_changes is None  # still RecordPlan's to write
