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
    return state_version_of(path.read_bytes(), path.name)


def state_version_of(body: bytes, name: str = STATE_FILE) -> StateVersion:
    """The version of a state file's bytes; ValueError when they are not a whole Terraform
    state (e.g. a file read while Terraform was rewriting it)."""
    try:
        state = json.loads(body)
        serial, lineage = state["serial"], state["lineage"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{name} is not a Terraform state file") from error
    if not isinstance(serial, int) or not isinstance(lineage, str):
        raise ValueError(f"{name} is not a Terraform state file")
    return StateVersion(serial, lineage)
