"""Finding processes by their command line, to prove nothing was left running (Linux /proc)."""

from collections.abc import Callable
from pathlib import Path


def processes_with_argument(argument: str) -> list[int]:
    """Processes with ``argument`` as one of their command-line arguments."""
    return _matching(lambda arguments: argument.encode() in arguments)


def processes_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` anywhere (e.g. inside a shell command)."""
    return _matching(lambda arguments: text.encode() in b" ".join(arguments))


def _matching(matches: Callable[[list[bytes]], bool]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked
        if matches(arguments):
            pids.append(int(entry.name))
    return pids
