"""ResourceStore: the same cases against the in-memory fake and DynamoResourceStore."""

from collections.abc import Callable
from datetime import timedelta

import pytest

from iacp.errors import InvalidInput
from iacp.inventory.models import InventorySync, Resource, ResourceInstance, SyncTarget
from iacp.inventory.store import resource_id
from tests.contract.conftest import NOW, Stores, every_page

DEADLINE = timedelta(minutes=5)
BUCKET = "arn:aws:s3:::logs"


def target(serial: int) -> SyncTarget:
    return SyncTarget(state_version_id=f"sv-{serial}", serial=serial, run_id=f"run-{serial}")


def instance(address: str, cloud_id: str | None = None, **fields: object) -> ResourceInstance:
    """``address`` is ``[module.<name>.]<type>.<name>[<key>]``."""
    parts = address.split(".")
    module = ".".join(parts[:-2]) or None
    resource_type, name = parts[-2], parts[-1].split("[")[0]
    return ResourceInstance.model_validate(
        {
            "address": address,
            "module": module,
            "type": resource_type,
            "name": name,
            "provider": "registry.terraform.io/hashicorp/aws",
            "cloud_id": cloud_id,
        }
        | fields
    )


def addresses(stores: Stores, workspace_id: str, limit: int = 2) -> list[str]:
    listed = every_page(
        lambda limit, cursor: stores.resources.page(workspace_id, limit, cursor), limit
    )
    return [r.address for r in listed]


# --- the sync record -----------------------------------------------------------------------


def test_a_sync_record_is_saved_only_over_the_version_it_was_made_from(stores: Stores):
    assert stores.resources.get_sync("ws-1") is None
    first = InventorySync.first("ws-1", target(1), NOW, DEADLINE)

    saved = stores.resources.save_sync(first)

    assert saved is not None and saved.version == 1
    assert stores.resources.get_sync("ws-1") == saved
    assert stores.resources.save_sync(first) is None  # it exists already
    synced = stores.resources.save_sync(saved.synced(3, NOW))
    assert synced is not None and synced.version == 2
    assert stores.resources.save_sync(saved.synced(4, NOW)) is None  # made from version 1
    assert stores.resources.get_sync("ws-1") == synced
    assert (synced.synced_serial, synced.resource_count, synced.deadline) == (1, 3, None)
    # A version the record never had, for a workspace without one, is refused too.
    assert (
        stores.resources.save_sync(first.model_copy(update={"workspace_id": "ws-2", "version": 3}))
        is None
    )
    assert stores.resources.get_sync("ws-2") is None


def test_due_syncs_are_the_attempts_past_their_deadline(stores: Stores):
    for workspace_id, started in [("ws-b", -10), ("ws-a", -5), ("ws-later", 0)]:
        sync = InventorySync.first(
            workspace_id, target(1), NOW + timedelta(minutes=started), DEADLINE
        )
        assert stores.resources.save_sync(sync) is not None
    done = stores.resources.save_sync(InventorySync.first("ws-done", target(1), NOW, DEADLINE))
    assert done is not None
    assert stores.resources.save_sync(done.synced(0, NOW)) is not None
    failed = stores.resources.save_sync(InventorySync.first("ws-failed", target(1), NOW, DEADLINE))
    assert failed is not None
    assert stores.resources.save_sync(failed.interrupted("boom", 1, NOW)) is not None

    assert stores.resources.due_syncs(NOW) == ["ws-a", "ws-b"]  # ws-a's deadline is now
    assert stores.resources.due_syncs(NOW - timedelta(minutes=6)) == []
    assert stores.resources.due_syncs(NOW + DEADLINE) == ["ws-a", "ws-b", "ws-later"]


# --- entries -------------------------------------------------------------------------------


def test_entries_are_listed_in_address_order_a_page_at_a_time(stores: Stores):
    found = [
        instance("terraform_data.single", "id-single"),
        instance('terraform_data.each["b"]', "id-b", index_key="b"),
        instance("aws_s3_bucket.logs", BUCKET, tags={"team": "platform"}),
        instance("module.child.terraform_data.inner", "id-inner"),
        instance("terraform_data.counted[0]", None, index_key=0),
    ]
    stores.resources.put_resources("ws-1", target(4), found, NOW)
    stores.resources.put_resources("ws-2", target(1), [instance("aws_s3_bucket.other")], NOW)

    assert addresses(stores, "ws-1") == [
        "aws_s3_bucket.logs",
        "module.child.terraform_data.inner",
        "terraform_data.counted[0]",
        'terraform_data.each["b"]',
        "terraform_data.single",
    ]
    assert addresses(stores, "ws-1", limit=5) == addresses(stores, "ws-1", limit=100)
    assert addresses(stores, "ws-3") == []
    page, cursor = stores.resources.page("ws-1", 1, None)
    assert cursor is not None
    bucket = page[0]
    assert bucket == Resource(
        **found[2].model_dump(),
        id=resource_id("ws-1", "aws_s3_bucket.logs"),
        workspace_id="ws-1",
        state_version_id="sv-4",
        serial=4,
        run_id="run-4",
        created_at=NOW,
        updated_at=NOW,
    )
    counted = stores.resources.page("ws-1", 100, None)[0][2]
    assert (counted.cloud_id, counted.index_key) == (None, 0)
    inner = stores.resources.page("ws-1", 100, None)[0][1]
    assert (inner.module, inner.name) == ("module.child", "inner")


def test_an_entry_indexed_from_a_newer_state_is_never_overwritten(stores: Stores):
    later = NOW + timedelta(minutes=1)
    stores.resources.put_resources("ws-1", target(2), [instance("aws_s3_bucket.logs", BUCKET)], NOW)

    stores.resources.put_resources(
        "ws-1", target(1), [instance("aws_s3_bucket.logs", "old")], later
    )
    [kept] = stores.resources.page("ws-1", 10, None)[0]
    assert (kept.serial, kept.cloud_id, kept.updated_at) == (2, BUCKET, NOW)

    # The same serial again (a repeated sync) and a newer one are written; created_at stays.
    stores.resources.put_resources(
        "ws-1", target(2), [instance("aws_s3_bucket.logs", BUCKET)], later
    )
    [again] = stores.resources.page("ws-1", 10, None)[0]
    assert (again.serial, again.created_at, again.updated_at) == (2, NOW, later)
    newest = later + timedelta(minutes=1)
    stores.resources.put_resources("ws-1", target(3), [instance("aws_s3_bucket.logs")], newest)
    [newer] = stores.resources.page("ws-1", 10, None)[0]
    assert (newer.serial, newer.run_id, newer.cloud_id) == (3, "run-3", None)
    assert (newer.created_at, newer.updated_at) == (NOW, newest)
    # Without a cloud id it left the cloud-id index.
    assert stores.resources.search(None, BUCKET, None, 10, None) == ([], None)


def test_remove_older_removes_only_the_workspaces_entries_of_an_older_state(stores: Stores):
    stores.resources.put_resources(
        "ws-1", target(1), [instance("aws_s3_bucket.a"), instance("aws_s3_bucket.b")], NOW
    )
    stores.resources.put_resources(
        "ws-1", target(2), [instance("aws_s3_bucket.b"), instance("aws_s3_bucket.c")], NOW
    )
    stores.resources.put_resources("ws-2", target(1), [instance("aws_s3_bucket.a")], NOW)

    assert stores.resources.remove_older("ws-1", 1) == 0
    assert stores.resources.remove_older("ws-1", 2) == 1
    assert addresses(stores, "ws-1") == ["aws_s3_bucket.b", "aws_s3_bucket.c"]
    assert stores.resources.remove_older("ws-1", 2) == 0
    assert addresses(stores, "ws-2") == ["aws_s3_bucket.a"]
    assert stores.resources.remove_older("ws-3", 9) == 0


def test_forget_removes_a_workspaces_inventory_and_sync_record(stores: Stores):
    for workspace_id in ("ws-1", "ws-2"):
        stores.resources.put_resources(
            workspace_id, target(1), [instance("aws_s3_bucket.a", f"arn-{workspace_id}")], NOW
        )
        sync = InventorySync.first(workspace_id, target(1), NOW, DEADLINE)
        assert stores.resources.save_sync(sync) is not None

    stores.resources.forget("ws-1")
    stores.resources.forget("ws-3")

    assert stores.resources.get_sync("ws-1") is None
    assert addresses(stores, "ws-1") == []
    assert stores.resources.due_syncs(NOW + DEADLINE) == ["ws-2"]
    found, _ = stores.resources.search("aws_s3_bucket", None, None, 10, None)
    assert [r.workspace_id for r in found] == ["ws-2"]
    # The forgotten workspace starts again from version 0.
    assert stores.resources.save_sync(InventorySync.first("ws-1", target(2), NOW, DEADLINE))


# --- searching -----------------------------------------------------------------------------


def indexed_across_workspaces(stores: Stores) -> None:
    stores.resources.put_resources(
        "ws-2",
        target(1),
        [
            instance("aws_s3_bucket.logs", BUCKET),
            instance("terraform_data.b", "id-b"),
            instance("terraform_data.a", None),
        ],
        NOW,
    )
    stores.resources.put_resources(
        "ws-1",
        target(1),
        [instance("terraform_data.z", "id-z"), instance("aws_sqs_queue.q", "shared")],
        NOW,
    )
    stores.resources.put_resources("ws-3", target(1), [instance("terraform_data.c", "shared")], NOW)


def located(resources: list[Resource]) -> list[tuple[str, str]]:
    return [(r.workspace_id, r.address) for r in resources]


def test_a_search_by_type_finds_entries_in_workspace_and_address_order(stores: Stores):
    indexed_across_workspaces(stores)

    found = every_page(
        lambda limit, cursor: stores.resources.search("terraform_data", None, None, limit, cursor),
        2,
    )

    assert located(found) == [
        ("ws-1", "terraform_data.z"),
        ("ws-2", "terraform_data.a"),
        ("ws-2", "terraform_data.b"),
        ("ws-3", "terraform_data.c"),
    ]
    assert stores.resources.search("aws_nothing", None, None, 10, None) == ([], None)


def test_a_search_by_cloud_id_finds_entries_with_that_id_and_type(stores: Stores):
    indexed_across_workspaces(stores)

    shared = every_page(
        lambda limit, cursor: stores.resources.search(None, "shared", None, limit, cursor), 1
    )
    assert located(shared) == [("ws-1", "aws_sqs_queue.q"), ("ws-3", "terraform_data.c")]
    both, _ = stores.resources.search("terraform_data", "shared", None, 10, None)
    assert located(both) == [("ws-3", "terraform_data.c")]
    [bucket], cursor = stores.resources.search(None, BUCKET, None, 10, None)
    assert (bucket.workspace_id, bucket.type, bucket.cloud_id, cursor) == (
        "ws-2",
        "aws_s3_bucket",
        BUCKET,
        None,
    )
    assert stores.resources.search("aws_sqs_queue", BUCKET, None, 10, None) == ([], None)


def test_a_filtered_search_pages_over_the_index_and_may_return_short_pages(stores: Stores):
    indexed_across_workspaces(stores)
    pages: list[list[tuple[str, str]]] = []
    cursor: str | None = None
    while True:
        page, cursor = stores.resources.search(
            "terraform_data", None, frozenset({"ws-3", "ws-1"}), 2, cursor
        )
        pages.append(located(page))
        if cursor is None:
            break

    # DynamoDB limits what it reads, then filters: the first page read ws-1's and one of ws-2's.
    assert pages == [[("ws-1", "terraform_data.z")], [("ws-3", "terraform_data.c")]]
    elsewhere = frozenset({"ws-9"})
    nothing, cursor = stores.resources.search("terraform_data", None, elsewhere, 2, None)
    assert nothing == [] and cursor is not None
    assert stores.resources.search("terraform_data", None, elsewhere, 2, cursor) == ([], None)
    shared, _ = stores.resources.search(None, "shared", frozenset({"ws-1"}), 10, None)
    assert located(shared) == [("ws-1", "aws_sqs_queue.q")]


def test_a_search_within_no_workspace_finds_nothing(stores: Stores):
    indexed_across_workspaces(stores)
    assert stores.resources.search("terraform_data", None, frozenset(), 10, None) == ([], None)
    assert stores.resources.search(None, "shared", frozenset(), 10, None) == ([], None)


def test_a_search_needs_a_type_or_a_cloud_id(stores: Stores):
    with pytest.raises(ValueError, match="a type or a cloud id"):
        stores.resources.search(None, None, None, 10, None)


def test_a_cursor_from_another_list_is_refused(stores: Stores):
    indexed_across_workspaces(stores)
    _, by_type = stores.resources.search("terraform_data", None, None, 1, None)
    _, by_cloud_id = stores.resources.search(None, "shared", None, 1, None)
    _, listed = stores.resources.page("ws-2", 1, None)
    assert by_type is not None and by_cloud_id is not None and listed is not None

    refused: list[Callable[[], object]] = [
        lambda: stores.resources.search("aws_s3_bucket", None, None, 1, by_type),
        lambda: stores.resources.search(None, "shared", None, 1, by_type),
        lambda: stores.resources.search("terraform_data", None, None, 1, by_cloud_id),
        lambda: stores.resources.search(None, "id-b", None, 1, by_cloud_id),
        lambda: stores.resources.search("terraform_data", None, None, 1, listed),
        lambda: stores.resources.page("ws-2", 1, by_type),
        lambda: stores.resources.page("ws-1", 1, listed),
        lambda: stores.resources.page("ws-2", 1, "not-a-cursor"),
        lambda: stores.resources.search("terraform_data", None, None, 1, "not-a-cursor"),
    ]
    for read in refused:
        with pytest.raises(InvalidInput):
            read()
    # The same cursor continues its own list, with or without a workspace filter.
    page, _ = stores.resources.search("terraform_data", None, frozenset({"ws-2"}), 1, by_type)
    assert located(page) == [("ws-2", "terraform_data.a")]
