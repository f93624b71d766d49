"""``python -m runner.main``: run one phase of a run, as the environment describes it.

The runner first restarts itself with a clean environment (``runner.process``), and starts
Terraform with nothing of its own but PATH, the locale and ``TF_*`` settings: the runner's
credentials are for the runner's platform I/O alone (docs/security.md). The phase itself is
``runner.phase``, imported only in the restarted image: boto3, pydantic and the ``iacp``
package take most of a second of CPU to import, and the first image lives only until its
``execve``.
"""

import os
import sys

from runner.process import (
    forbid_inspection,
    handed_over_environment,
    restart_with_clean_environment,
)


def main() -> int:
    environment = handed_over_environment(sys.argv)
    if environment is None:
        restart_with_clean_environment(os.environ)
    forbid_inspection()
    from runner import phase  # after the restart: see the docstring

    return phase.run(environment)


if __name__ == "__main__":
    sys.exit(main())
