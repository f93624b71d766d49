"""A Terraform state file as the platform keeps and takes it: read from the artifacts
bucket, a client's file checked against what the client declared, and renumbered."""

import json
from typing import Any

from iacp.artifacts import ArtifactStore, ObjectMissing
from iacp.errors import InvalidInput, capped
from iacp.states.models import StateFile


def checked_file(body: bytes, md5: str, serial: int, lineage: str | None) -> StateFile:
    """The client's state file, if it is one, with the md5, serial and lineage declared
    (422 naming the difference otherwise)."""
    try:
        state = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("The state is not a JSON document.", pointer="/state") from None
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("serial"), int)
        or not isinstance(state.get("lineage"), str)
        or not isinstance(state.get("version"), int)
    ):
        raise InvalidInput(
            "The state is not a Terraform state file (version, serial and lineage).",
            pointer="/state",
        )
    file = StateFile(body=body, state=state)
    if file.md5 != md5.lower():
        raise InvalidInput(
            f"The state's md5 is {file.md5}, not {capped(md5)} as declared.", pointer="/md5"
        )
    if state["serial"] != serial:
        raise InvalidInput(
            f"The state's serial is {state['serial']}, not {serial} as declared.",
            pointer="/serial",
        )
    if lineage is not None and state["lineage"] != lineage:
        raise InvalidInput(
            f"The state's lineage is {capped(state['lineage'])}, not {capped(lineage)} as "
            "declared.",
            pointer="/lineage",
        )
    return file


def renumbered(file: StateFile, serial: int) -> StateFile:
    """The state with another serial (a rollback's, a forced push's of an older serial)."""
    state = {**file.state, "serial": serial}
    return StateFile(body=(json.dumps(state, indent=2) + "\n").encode(), state=state)


def state_file(artifacts: ArtifactStore, key: str) -> StateFile:
    """The state file at ``key`` in the artifacts bucket: its bytes, parsed."""
    body = artifacts.get(key)
    if body is None:
        raise ObjectMissing(f"No state file at {key}.")
    return StateFile(body=body, state=json.loads(body))


def read_state_file(artifacts: ArtifactStore, key: str) -> dict[str, Any]:
    """The state file at ``key`` in the artifacts bucket, parsed."""
    return state_file(artifacts, key).state
