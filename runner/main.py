"""``python -m runner.main``: run one phase of a run, as the environment describes it.

The runner first restarts itself with a clean environment (``runner.process``), and starts
Terraform with nothing of its own but PATH, the locale and ``TF_*`` settings: the runner's
credentials are for the runner's platform I/O alone (docs/security.md). The phase itself is
``runner.phase``, imported only in the restarted image: boto3, pydantic and the ``iacp``
package take most of a second of CPU to import, and the first image lives only until its
``execve``.
"""

import os
import signal
import sys
import threading

from runner.process import (
    forbid_inspection,
    handed_over_environment,
    restart_with_clean_environment,
)

# A cancel that comes while the runner restarts or loads the phase's modules (a second or
# more) is remembered, not fatal: SIGTERM's default would end the runner with no result.json
# for the workflow to read. The signals are blocked across the restart (a signal mask
# survives execve) until the restarted image has its handler.
CANCEL_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def main() -> int:
    environment = handed_over_environment(sys.argv)
    if environment is None:
        signal.pthread_sigmask(signal.SIG_BLOCK, CANCEL_SIGNALS)
        restart_with_clean_environment(os.environ)
    canceled = remember_cancels()
    forbid_inspection()
    from runner import phase  # after the restart: see the docstring

    return phase.run(environment, canceled)


def remember_cancels() -> threading.Event:
    """From now on a cancel sets the event returned (the phase, once begun, handles it
    itself); one sent while the signals were blocked sets it now."""
    canceled = threading.Event()
    for signum in CANCEL_SIGNALS:
        signal.signal(signum, lambda signum, frame: canceled.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, CANCEL_SIGNALS)
    return canceled


if __name__ == "__main__":
    sys.exit(main())
