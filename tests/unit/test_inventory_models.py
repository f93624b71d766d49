"""Reading resource instances out of a state file, and the inventory sync's transitions."""

from datetime import UTC, datetime, timedelta

import pytest

from iacp.inventory.models import InventorySync, SyncStatus, SyncTarget
from iacp.inventory.state import resource_instances

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DEADLINE = timedelta(minutes=5)
V1 = SyncTarget(state_version_id="sv-1", serial=1, run_id="run-1")
V2 = SyncTarget(state_version_id="sv-2", serial=2, run_id="run-2")


def test_addresses_follow_terraforms_for_modules_with_keys_and_nested_modules():
    state = {
        "resources": [
            {
                "module": 'module.region["eu"].module.vpc',
                "mode": "managed",
                "type": "aws_subnet",
                "name": "private",
                "provider": 'module.region.provider["registry.terraform.io/hashicorp/aws"].eu',
                "instances": [{"index_key": 'a "quoted" key', "attributes": {"id": "subnet-1"}}],
            }
        ]
    }

    [instance] = resource_instances(state)

    assert instance.address == (
        'module.region["eu"].module.vpc.aws_subnet.private["a \\"quoted\\" key"]'
    )
    assert instance.module == 'module.region["eu"].module.vpc'
    assert instance.provider == "registry.terraform.io/hashicorp/aws"
    assert instance.cloud_id == "subnet-1"


def test_sensitive_ids_and_non_map_tags_are_left_out():
    state = {
        "resources": [
            {
                "mode": "managed",
                "type": "random_password",
                "name": "db",
                "provider": 'provider["registry.terraform.io/hashicorp/random"]',
                "instances": [
                    {
                        "attributes": {"id": "hunter2", "tags": None, "tags_all": "not a map"},
                        "sensitive_attributes": [[{"type": "get_attr", "value": "id"}]],
                    }
                ],
            }
        ]
    }

    [instance] = resource_instances(state)

    assert (instance.cloud_id, instance.tags) == (None, {})


def test_a_state_without_resources_has_none():
    assert resource_instances({"version": 4, "serial": 1, "resources": []}) == []
    assert resource_instances({"version": 4, "serial": 1}) == []


def synced(target: SyncTarget) -> InventorySync:
    return InventorySync.first("ws-1", target, NOW, DEADLINE).synced(3, NOW)


def test_a_newer_state_is_claimed_an_indexed_or_older_one_is_not():
    current = synced(V2)

    assert current.claim(V1, NOW, DEADLINE) is None
    assert current.claim(V2, NOW, DEADLINE) is None
    newer = SyncTarget(state_version_id="sv-3", serial=3, run_id="run-3")
    claimed = current.claim(newer, NOW, DEADLINE)
    assert claimed is not None
    assert (claimed.status, claimed.attempts, claimed.deadline) == (
        SyncStatus.SYNCING,
        1,
        NOW + DEADLINE,
    )
    assert claimed.synced_serial == 2  # the inventory listed meanwhile is still serial 2's


def test_an_attempt_under_way_is_claimed_again_only_after_its_deadline():
    syncing = InventorySync.first("ws-1", V1, NOW, DEADLINE)

    assert syncing.claim(V1, NOW + DEADLINE - timedelta(seconds=1), DEADLINE) is None
    late = syncing.claim(V2, NOW + DEADLINE + timedelta(seconds=1), DEADLINE)
    assert late is not None and (late.serial, late.attempts) == (2, 1)


@pytest.mark.parametrize(("max_attempts", "status"), [(3, SyncStatus.PENDING), (1, "failed")])
def test_an_interrupted_attempt_waits_for_a_retry_until_the_last_one(max_attempts, status):
    syncing = InventorySync.first("ws-1", V1, NOW, DEADLINE)

    interrupted = syncing.interrupted("boom", max_attempts, NOW)

    assert interrupted.status == status
    assert interrupted.deadline is None
    retry = interrupted.claim(V1, NOW, DEADLINE)
    if status == SyncStatus.PENDING:
        assert retry is not None and retry.attempts == 2 and retry.error == "boom"
    else:
        assert retry is None  # gave up on this state
        assert interrupted.error == "Gave up after 1 attempts. Last: boom"
        assert interrupted.claim(V2, NOW, DEADLINE) is not None  # a new apply tries again


def test_a_sync_asked_for_starts_a_state_it_gave_up_on_again_with_all_its_attempts():
    failed = InventorySync.first("ws-1", V1, NOW, DEADLINE).interrupted("boom", 1, NOW)
    asked_at = NOW + timedelta(minutes=1)

    assert failed.claim(V1, asked_at, DEADLINE) is None  # an event alone does not
    again = failed.claim(V1, asked_at, DEADLINE, asked_at=asked_at)

    assert again is not None
    assert (again.status, again.attempts, again.deadline) == (
        SyncStatus.SYNCING,
        1,
        asked_at + DEADLINE,
    )
    # Asking changes nothing about an attempt under way, or an inventory up to date.
    assert again.claim(V1, asked_at, DEADLINE, asked_at=asked_at) is None
    assert synced(V2).claim(V2, asked_at, DEADLINE, asked_at=asked_at) is None


def test_a_requests_own_retries_count_and_its_redeliveries_do_not_start_over():
    asked_at = NOW + timedelta(minutes=1)
    failed = InventorySync.first("ws-1", V1, NOW, DEADLINE).interrupted("boom", 1, NOW)
    again = failed.claim(V1, asked_at, DEADLINE, asked_at=asked_at)
    assert again is not None
    later = asked_at + timedelta(minutes=1)

    retried = again.interrupted("boom", 2, later).claim(V1, later, DEADLINE, asked_at=asked_at)
    assert retried is not None and retried.attempts == 2
    failed_again = retried.interrupted("boom", 2, later)
    assert failed_again.status is SyncStatus.FAILED
    # SQS redelivers the request: it gave up after the request, so that is the end of it.
    assert failed_again.claim(V1, later, DEADLINE, asked_at=asked_at) is None
