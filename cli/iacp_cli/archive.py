"""A configuration directory packed as the ``.tar.gz`` a configuration version takes."""

import fnmatch
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from iacp_cli.errors import CliError

# Never packed: Terraform's working data, version control, local state (it may hold
# secrets, and the platform keeps the state), and this client's own settings (a token).
SKIPPED_DIRECTORIES = frozenset({".terraform", ".git", ".iacp"})
SKIPPED_PATTERNS = ("*.tfstate", "*.tfstate.*", "*.tfstate.d")


@dataclass(frozen=True)
class Archive:
    data: bytes
    files: list[str]  # the paths packed, relative to the directory, with "/"


def skipped(relative: Path) -> bool:
    """Whether a path (relative to the configuration directory) is left out."""
    if any(part in SKIPPED_DIRECTORIES for part in relative.parts):
        return True
    return any(
        fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in SKIPPED_PATTERNS
    )


def pack(directory: Path) -> Archive:
    """The directory's files as a gzipped tar, paths relative to it; see ``skipped``."""
    if not directory.is_dir():
        raise CliError(f"{directory} is not a directory")
    files = sorted(_files(directory))
    names = [p.relative_to(directory).as_posix() for p in files]
    if not any(name.endswith((".tf", ".tf.json")) for name in names):
        raise CliError(f"{directory} holds no Terraform files (*.tf, *.tf.json)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, name in zip(files, names, strict=True):
            tar.add(path, arcname=name, recursive=False, filter=_anonymous)
    return Archive(data=buffer.getvalue(), files=names)


def _files(directory: Path) -> list[Path]:
    """The files to pack; skipped directories are not even walked (.terraform is large)."""
    found: list[Path] = []
    for root, directories, files in os.walk(directory):
        here = Path(root)
        directories[:] = [d for d in directories if not skipped((here / d).relative_to(directory))]
        # A symbolic link to a directory is listed in ``directories`` and packed as a link.
        links = [d for d in directories if (here / d).is_symlink()]
        for name in [*files, *links]:
            path = here / name
            if not skipped(path.relative_to(directory)):
                found.append(path)
    return found


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No local user or group names in the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
