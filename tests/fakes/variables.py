"""An in-memory ``VariableStore``: variables and their key claims under the workspace."""

from iacp.errors import Conflict, NotFound
from iacp.variables.store import KeyTaken, VariableRecord, VariableStore
from iacp.workspaces.store import WORKSPACE_SK
from tests.fakes.pages import page_of
from tests.fakes.table import FakeTable


def _claim(record: VariableRecord) -> tuple[str, str]:
    return record.workspace_id, f"varkey#{record.category}#{record.key}"


def _key(record: VariableRecord) -> tuple[str, str]:
    return record.workspace_id, f"var#{record.id}"


class InMemoryVariableStore:
    def __init__(self, table: FakeTable):
        self.table = table

    def create(self, record: VariableRecord) -> None:
        if (record.workspace_id, WORKSPACE_SK) not in self.table:
            raise NotFound(f"No workspace {record.workspace_id}.")
        if _key(record) in self.table or _claim(record) in self.table:
            raise KeyTaken(record)
        self.table[_key(record)] = record.model_copy(deep=True)
        self.table[_claim(record)] = record.id

    def get(self, workspace_id: str, variable_id: str) -> VariableRecord | None:
        found = self.table.get((workspace_id, f"var#{variable_id}"))
        return None if found is None else found.model_copy(deep=True)

    def page(
        self, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[VariableRecord], str | None]:
        records = [item.model_copy(deep=True) for _, item in self.table.under(workspace_id, "var#")]
        return page_of(records, lambda r: r.id, limit, cursor, workspace_id)

    def replace(self, current: VariableRecord, new: VariableRecord) -> None:
        stored = self.table.get(_key(current))
        unchanged = stored is not None and stored.version == current.version
        moves = _claim(current) != _claim(new)
        if moves:
            old_claim_ours = self.table.get(_claim(current)) == current.id
            if unchanged and old_claim_ours and _claim(new) in self.table:
                raise KeyTaken(new)
            unchanged = unchanged and old_claim_ours and _claim(new) not in self.table
        if not unchanged:
            raise Conflict(
                f"Variable {current.id} changed or was deleted while this update was made."
            )
        self.table[_key(new)] = new.model_copy(deep=True)
        if moves:
            del self.table[_claim(current)]
            self.table[_claim(new)] = new.id

    def delete(self, record: VariableRecord) -> bool:
        if _key(record) not in self.table or self.table.get(_claim(record)) != record.id:
            return False
        del self.table[_key(record)]
        del self.table[_claim(record)]
        return True


_: VariableStore = InMemoryVariableStore(FakeTable())
