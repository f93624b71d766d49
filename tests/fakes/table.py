"""The workspaces table of the fakes: several stores keep their items under a workspace
(configuration versions, state versions, variables, run-task attachments), and deleting the
workspace deletes them with it, as in DynamoDB. Keys are ``(partition, sort)``."""

from typing import Any


class FakeTable(dict[tuple[str, str], Any]):
    def under(self, partition: str, prefix: str = "") -> list[tuple[str, Any]]:
        """The ``(sort key, item)`` pairs of a partition, in sort-key order."""
        return sorted(
            (
                (sk, item)
                for (pk, sk), item in self.items()
                if pk == partition and sk.startswith(prefix)
            ),
            key=lambda pair: pair[0],
        )

    def drop_partition(self, partition: str) -> None:
        for key in [key for key in self if key[0] == partition]:
            del self[key]
