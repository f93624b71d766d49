"""The runner's own process, kept out of reach of the Terraform code it runs.

A configuration's ``local-exec`` runs as the same user as the runner, and Linux lets such a
process read ``/proc/<pid>/environ`` of its ancestors: the environment a process was
*started* with, which changing ``os.environ`` afterwards does not erase. The runner is
started with its credentials in that environment (ECS passes them no other way), so before
anything else it starts itself again, by ``execve`` with the same pid, with only the
harmless variables of :data:`KEPT` in its environment; the rest reaches the new image
through an anonymous file whose descriptor it reads once and closes. It then also marks
itself non-dumpable, which hides its memory and ``/proc`` files from other processes of its
user (not from a root that holds CAP_SYS_PTRACE; Fargate grants no one that capability
unless the task definition adds it, and ours does not). docs/security.md has the reasoning.
"""

import ctypes
import json
import os
import sys
from collections.abc import Mapping
from typing import NoReturn

# Nothing here is a credential or names a platform resource.
KEPT = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "TERRAFORM_BINARY"})
KEPT_PREFIXES = ("TF_", "POWERTOOLS_")
HANDED_OVER_FLAG = "--environment-fd"
_PR_SET_DUMPABLE = 4


def handed_over_environment(argv: list[str]) -> dict[str, str] | None:
    """The environment the runner was started with, if this process is its clean restart
    (``--environment-fd N`` in ``argv``); None if it is the first start."""
    if HANDED_OVER_FLAG not in argv:
        return None
    fd = int(argv[argv.index(HANDED_OVER_FLAG) + 1])
    with os.fdopen(fd, "rb") as handed:  # closed at once: nothing to find in /proc/self/fd
        environment: dict[str, str] = json.loads(handed.read())
    return environment


def restart_with_clean_environment(environment: Mapping[str, str]) -> NoReturn:
    """Start this program again with only :data:`KEPT` in its environment; the whole
    ``environment`` is handed over through a file descriptor."""
    handed = os.memfd_create("iacp-runner-environment", 0)  # inheritable: no MFD_CLOEXEC
    os.write(handed, json.dumps(dict(environment)).encode())
    os.lseek(handed, 0, os.SEEK_SET)
    argv = [sys.executable, "-m", "runner.main", HANDED_OVER_FLAG, str(handed)]
    os.execve(sys.executable, argv, clean_environment(environment))  # noqa: S606 -- ourselves


def forbid_inspection() -> None:
    """PR_SET_DUMPABLE 0: other processes of this user cannot read this one's memory,
    environment or file descriptors through /proc, nor attach to it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def clean_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The harmless part of ``environment``: the restarted runner's whole environment."""
    return {k: v for k, v in environment.items() if k in KEPT or k.startswith(KEPT_PREFIXES)}
