"""``iacp upload WS DIR``: pack a configuration and upload it as a new version."""

import argparse
from pathlib import Path

from iacp_cli.archive import SKIPPED_DIRECTORIES, SKIPPED_PATTERNS, pack
from iacp_cli.client import Client, segment
from iacp_cli.commands.common import Subparsers, verb
from iacp_cli.errors import CliError
from iacp_cli.output import print_json, say
from iacp_cli.resolve import workspace_id


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    skipped = ", ".join([f"{d}/" for d in sorted(SKIPPED_DIRECTORIES)] + list(SKIPPED_PATTERNS))
    upload = verb(
        nouns,
        "upload",
        "pack a directory as .tar.gz and upload it as the workspace's new configuration",
        common,
        upload_configuration,
        json_option=True,
        epilog=f"Left out of the archive: {skipped}.\nThe next `iacp run start` uses it.",
    )
    upload.add_argument("workspace", metavar="WS", help="a workspace name or id")
    upload.add_argument("directory", metavar="DIR", type=Path, help="the configuration")


def upload_configuration(args: argparse.Namespace, client: Client) -> int:
    archive = pack(args.directory)  # before any request: a wrong DIR costs nothing
    ws = workspace_id(client, args.workspace)
    base = f"/workspaces/{segment(ws)}/configuration-versions"
    version = client.post(base, {})
    if not version.get("upload_url"):
        raise CliError(f"configuration version {version['id']} came without an upload URL")
    client.upload(str(version["upload_url"]), archive.data)
    # The version notices its archive when next read: uploaded, or errored if unreadable.
    settled = client.get(f"{base}/{segment(str(version['id']))}")
    if settled.get("status") == "errored":
        raise CliError(f"configuration version {settled['id']} errored: the archive was refused")
    if args.json:
        print_json(settled)
    else:
        files = _count(len(archive.files), "file")
        say(
            f"uploaded {files} ({_size(len(archive.data))}) as configuration version "
            f"{settled['id']} ({settled.get('status')})"
        )
    return 0


def _size(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KiB"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
