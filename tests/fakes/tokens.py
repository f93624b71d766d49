"""An in-memory ``TokenStore``."""

from iacp.tokens.store import TokenRecord, TokenStore
from tests.fakes.pages import page_of


class InMemoryTokenStore:
    def __init__(self) -> None:
        self.records: dict[str, TokenRecord] = {}

    def add(self, record: TokenRecord) -> None:
        if record.id in self.records:
            raise ValueError(f"token {record.id} exists")  # DynamoDB: a failed condition
        self.records[record.id] = record.model_copy(deep=True)

    def get(self, token_id: str) -> TokenRecord | None:
        found = self.records.get(token_id)
        return None if found is None else found.model_copy(deep=True)

    def page(self, limit: int, cursor: str | None) -> tuple[list[TokenRecord], str | None]:
        records = [self.records[k].model_copy(deep=True) for k in sorted(self.records)]
        return page_of(records, lambda r: r.id, limit, cursor, "tokens")

    def delete(self, token_id: str) -> bool:
        return self.records.pop(token_id, None) is not None


_: TokenStore = InMemoryTokenStore()
