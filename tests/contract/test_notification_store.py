"""NotificationStore and DeliveryLog: the same cases against the in-memory fakes and the
DynamoDB stores."""

from datetime import timedelta

import pytest

from iacp.errors import InvalidInput
from iacp.notifications.models import DeliveryStatus, NotificationConfiguration
from iacp.notifications.store import ConfigurationRecord, DeliveryInFlight
from tests.contract.conftest import NOW, Stores, every_page

LEASE = timedelta(seconds=30)


def configuration(
    configuration_id: str, name: str, workspace_id: str = "ws-1"
) -> ConfigurationRecord:
    return ConfigurationRecord(
        configuration=NotificationConfiguration.model_validate(
            {
                "id": configuration_id,
                "created_at": NOW,
                "updated_at": NOW,
                "workspace_id": workspace_id,
                "name": name,
                "destination_type": "generic",
                "enabled": True,
                "triggers": ["run:errored"],
                "url_set": True,
                "url_origin": "https://hooks.example",
                "token_set": False,
                "topic_arn": None,
            }
        ),
        sealed_url="sealed",
    )


def test_configurations_are_kept_per_workspace(stores: Stores):
    for n, name in enumerate(["c", "a", "b"]):
        stores.notifications.add(configuration(f"nc-{n}", name))
    stores.notifications.add(configuration("nc-other", "z", "ws-2"))

    listed = every_page(lambda limit, cursor: stores.notifications.page("ws-1", limit, cursor), 2)

    assert [c.name for c in listed] == ["a", "b", "c"]
    assert [r.configuration.name for r in stores.notifications.of_workspace("ws-1")] == [
        "a",
        "b",
        "c",
    ]
    stored = stores.notifications.get("nc-0")
    assert stored is not None
    assert (stored.configuration, stored.sealed_url) == (
        configuration("nc-0", "c").configuration,
        "sealed",
    )
    with pytest.raises(InvalidInput):
        stores.notifications.page("ws-2", 2, every_page_cursor(stores))


def every_page_cursor(stores: Stores) -> str:
    _, cursor = stores.notifications.page("ws-1", 1, None)
    assert cursor is not None
    return cursor


def test_a_replace_needs_the_configuration_as_read(stores: Stores):
    stores.notifications.add(configuration("nc-1", "a"))
    read = stores.notifications.get("nc-1")
    assert read is not None

    assert stores.notifications.replace(read, configuration("nc-1", "b")) is True
    assert stores.notifications.replace(read, configuration("nc-1", "c")) is False
    current = stores.notifications.get("nc-1")
    assert current is not None and current.configuration.name == "b"


def test_configurations_are_deleted_and_forgotten_with_their_workspace(stores: Stores):
    stores.notifications.add(configuration("nc-1", "a"))
    stores.notifications.add(configuration("nc-2", "b"))
    stores.notifications.add(configuration("nc-3", "c", "ws-2"))

    assert stores.notifications.delete("nc-1") is True
    assert stores.notifications.delete("nc-1") is False
    stores.notifications.forget("ws-1")

    assert stores.notifications.of_workspace("ws-1") == []
    assert stores.notifications.get("nc-3") is not None


def claim(stores: Stores, now=NOW):
    return stores.deliveries.claim(
        "nc-1",
        "ntfdlv-1",
        event_id="ev-1",
        trigger="run:errored",
        run_id="run-1",
        now=now,
        lease=LEASE,
    )


def test_a_delivery_is_claimed_under_a_lease(stores: Stores):
    first = claim(stores)
    assert first is not None and (first.status, first.attempts) == (DeliveryStatus.SENDING, 1)

    with pytest.raises(DeliveryInFlight):
        claim(stores, NOW + timedelta(seconds=10))
    second = claim(stores, NOW + timedelta(seconds=31))  # the first attempt's lease ran out
    assert second is not None and second.attempts == 2

    assert (
        stores.deliveries.finish(
            first, DeliveryStatus.DELIVERED, status_code=200, error=None, now=NOW
        )
        is None
    )  # it lost its lease
    done = stores.deliveries.finish(
        second, DeliveryStatus.RETRYING, status_code=500, error="boom", now=NOW
    )
    assert done is not None and (done.status, done.last_error) == (DeliveryStatus.RETRYING, "boom")
    assert stores.deliveries.get("nc-1", "ntfdlv-1") == done


def test_a_delivered_message_is_not_claimed_again(stores: Stores):
    attempt = claim(stores)
    assert attempt is not None
    stores.deliveries.finish(
        attempt, DeliveryStatus.DELIVERED, status_code=200, error=None, now=NOW
    )

    assert claim(stores, NOW + timedelta(minutes=5)) is None


def test_deliveries_are_listed_newest_first(stores: Stores):
    attempt = claim(stores, NOW)
    assert attempt is not None
    for n in range(4):
        verified = attempt.model_copy(
            update={"id": f"ntfdlv-v{n}", "created_at": NOW + timedelta(seconds=n + 1)}
        )
        stores.deliveries.add(verified)

    listed = every_page(lambda limit, cursor: stores.deliveries.page("nc-1", limit, cursor), 2)

    assert [d.id for d in listed] == [
        "ntfdlv-v3",
        "ntfdlv-v2",
        "ntfdlv-v1",
        "ntfdlv-v0",
        "ntfdlv-1",
    ]
