"""Checkpoints of the state Terraform writes while it applies.

Terraform with the local backend rewrites ``terraform.tfstate`` each time it has finished
with a resource. While ``terraform apply`` runs, a thread looks at the file every
``CHECKPOINT_SECONDS`` and, when it holds a whole state other than the last one uploaded,
uploads it to the apply's state key. A runner that dies without a word (SIGKILL, the OOM
killer, a Fargate task stopped past its stop timeout) still leaves the platform Terraform's
state of a moment before, which the workflow records as a partial state version
(docs/run-pipeline.md). The runner's own upload once Terraform has ended
(``steps.upload_state``) comes after the thread has stopped, so it is always the last.
"""

import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from botocore.exceptions import BotoCoreError, ClientError

from iacp.observability import logger
from runner.statefile import state_version_of

CHECKPOINT_SECONDS = 1.0
Upload = Callable[[bytes], None]


class StateCheckpoints:
    """``with StateCheckpoints(path, upload): <run terraform apply>``."""

    def __init__(self, path: Path, upload: Upload, every: float = CHECKPOINT_SECONDS):
        self._path = path
        self._upload = upload
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="state-checkpoints", daemon=True)
        # What is there before Terraform starts is the workspace's state: nothing to keep.
        self._seen = _signature(path)
        self._last = _read(path)

    def __enter__(self) -> "StateCheckpoints":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join()  # an upload under way ends first

    def checkpoint(self) -> bool:
        """Upload the file if it holds a whole state other than the last one uploaded."""
        seen = _signature(self._path)
        if seen is None or seen == self._seen:
            return False
        body = _read(self._path)
        if body is None or body == self._last:
            self._seen = seen
            return False
        try:
            version = state_version_of(body)
        except ValueError:
            return False  # read while Terraform rewrote it: looked at again next time
        try:
            self._upload(body)
        except (BotoCoreError, ClientError) as error:
            logger.warning("state checkpoint not uploaded", extra={"error": type(error).__name__})
            return False  # the file is still new: tried again next time
        self._seen, self._last = seen, body
        logger.info("state checkpoint uploaded", extra={"serial": version.serial})
        return True

    def _watch(self) -> None:
        while not self._stopped.wait(self._every):
            self.checkpoint()


def _signature(path: Path) -> tuple[int, int] | None:
    """(modification time, size): what says, without reading it, that the file changed."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
