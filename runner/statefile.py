"""What the runner needs to know of a Terraform state file: which version it is."""

import json
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "terraform.tfstate"


@dataclass(frozen=True)
class StateVersion:
    serial: int
    lineage: str | None


NO_STATE = StateVersion(serial=0, lineage=None)


def read_state_version(path: Path) -> StateVersion:
    """Raises ValueError when the file is not a Terraform state."""
    try:
        state = json.loads(path.read_bytes())
        serial, lineage = state["serial"], state["lineage"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path.name} is not a Terraform state file") from error
    if not isinstance(serial, int) or not isinstance(lineage, str):
        raise ValueError(f"{path.name} is not a Terraform state file")
    return StateVersion(serial, lineage)
