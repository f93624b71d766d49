"""VcsConnectionStore: the same cases against the in-memory fake and the DynamoDB store."""

from iacp.vcs.models import VcsConnection, VcsProvider
from iacp.vcs.store import ConnectionRecord
from tests.contract.conftest import NOW, Stores, every_page


def connection(connection_id: str, provider: VcsProvider = VcsProvider.GITHUB) -> ConnectionRecord:
    return ConnectionRecord(
        connection=VcsConnection(
            id=connection_id,
            created_at=NOW,
            provider=provider,
            description="",
            webhook_secret_set=True,
            token_set=False,
        ),
        secret_arn=f"arn:secret:{connection_id}",
    )


def test_connections_are_kept_and_listed(stores: Stores):
    for n in range(3):
        stores.connections.add(connection(f"vcs-{n}"))
    stores.connections.add(connection("vcs-cc", VcsProvider.CODECOMMIT))

    assert stores.connections.get("vcs-1") == connection("vcs-1")
    assert stores.connections.get("vcs-9") is None
    assert [c.id for c in every_page(stores.connections.page, 2)] == [
        "vcs-0",
        "vcs-1",
        "vcs-2",
        "vcs-cc",
    ]
    assert [r.connection.id for r in stores.connections.all(VcsProvider.CODECOMMIT)] == ["vcs-cc"]


def test_a_connection_is_deleted_once(stores: Stores):
    stores.connections.add(connection("vcs-1"))

    assert stores.connections.delete("vcs-1") is True
    assert stores.connections.delete("vcs-1") is False
    assert stores.connections.get("vcs-1") is None
