"""``iacp upload`` packs a directory: relative paths, without Terraform's working data, version
control, local state or the client's own settings."""

import io
import tarfile
from pathlib import Path

import pytest

from iacp_cli.archive import pack, skipped
from iacp_cli.errors import CliError


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {info.name: info for info in archive.getmembers()}


def test_the_archive_holds_the_configuration_and_skips_the_rest(tmp_path: Path):
    write(
        tmp_path,
        {
            "main.tf": "# main",
            "variables.tf": "# vars",
            "modules/net/main.tf": "# module",
            "files/script.sh": "echo",
            ".terraform/providers/huge": "x",
            ".terraform.lock.hcl": "# lock",
            ".git/config": "[core]",
            ".iacp/local.json": '{"token": "at-secret"}',
            "terraform.tfstate": "{}",
            "terraform.tfstate.backup": "{}",
            "terraform.tfstate.d/dev/terraform.tfstate": "{}",
            "modules/net/.terraform/x": "x",
        },
    )

    archive = pack(tmp_path)

    expected = [
        ".terraform.lock.hcl",
        "files/script.sh",
        "main.tf",
        "modules/net/main.tf",
        "variables.tf",
    ]
    assert sorted(archive.files) == expected
    found = members(archive.data)
    assert sorted(found) == expected
    assert all(info.uname == "" and info.uid == 0 for info in found.values())
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        member = tar.extractfile("modules/net/main.tf")
        assert member is not None
        assert member.read() == b"# module"


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        ("main.tf", False),
        (".terraform.lock.hcl", False),
        ("a/b/c.tf", False),
        (".terraform/x", True),
        ("sub/.git/HEAD", True),
        (".iacp/local.json", True),
        ("prod.tfstate", True),
        ("terraform.tfstate.backup", True),
        ("terraform.tfstate.d/w/terraform.tfstate", True),
    ],
)
def test_what_is_left_out(path: str, left_out: bool):
    assert skipped(Path(path)) is left_out


def test_a_directory_without_terraform_files_is_refused(tmp_path: Path):
    write(tmp_path, {"README.md": "hi", ".terraform/x.tf": "hidden"})

    with pytest.raises(CliError, match="no Terraform files"):
        pack(tmp_path)


def test_a_missing_directory_is_refused(tmp_path: Path):
    with pytest.raises(CliError, match="is not a directory"):
        pack(tmp_path / "nope")


def test_json_configurations_count(tmp_path: Path):
    write(tmp_path, {"main.tf.json": "{}"})

    assert pack(tmp_path).files == ["main.tf.json"]
