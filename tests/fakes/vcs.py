"""An in-memory ``VcsConnectionStore``."""

from iacp.vcs.models import VcsConnection, VcsProvider
from iacp.vcs.store import ConnectionRecord, VcsConnectionStore
from tests.fakes.pages import page_of


class InMemoryVcsConnectionStore:
    def __init__(self) -> None:
        self.records: dict[str, ConnectionRecord] = {}

    def add(self, record: ConnectionRecord) -> None:
        if record.connection.id in self.records:
            raise ValueError(f"{record.connection.id} exists")  # DynamoDB: a failed condition
        self.records[record.connection.id] = record.model_copy(deep=True)

    def get(self, connection_id: str) -> ConnectionRecord | None:
        found = self.records.get(connection_id)
        return None if found is None else found.model_copy(deep=True)

    def page(self, limit: int, cursor: str | None) -> tuple[list[VcsConnection], str | None]:
        connections = [self.records[k].connection.model_copy() for k in sorted(self.records)]
        return page_of(connections, lambda c: c.id, limit, cursor, "vcs-connections")

    def all(self, provider: VcsProvider) -> list[ConnectionRecord]:
        return [
            self.records[k].model_copy(deep=True)
            for k in sorted(self.records)
            if self.records[k].connection.provider is provider
        ]

    def delete(self, connection_id: str) -> bool:
        return self.records.pop(connection_id, None) is not None


_: VcsConnectionStore = InMemoryVcsConnectionStore()
