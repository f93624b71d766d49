"""Backend blocks are removed from `terraform {}` blocks, and nothing else is touched."""

from pathlib import Path

from runner.backend import remove_backend_blocks, without_backend_blocks

CONFIGURATION = """\
terraform {
  required_version = ">= 1.5"

  backend "s3" {
    bucket = "state-${local.suffix}" # a brace in a comment: {
    key    = "a/b"
  }
}

resource "terraform_data" "kept" {
  input = "backend \\"s3\\" { }"
}
"""


def test_a_backend_block_is_replaced_by_blank_lines() -> None:
    stripped = without_backend_blocks(CONFIGURATION)

    assert "backend" not in stripped.split("resource")[0]
    assert "required_version" in stripped
    assert 'input = "backend \\"s3\\" { }"' in stripped
    # Same line count: Terraform's messages still point at the user's lines.
    assert stripped.count("\n") == CONFIGURATION.count("\n")
    assert stripped.splitlines()[9] == 'resource "terraform_data" "kept" {'


def test_a_cloud_block_and_a_one_line_terraform_block() -> None:
    text = 'terraform { cloud { organization = "x" } }\nterraform { backend "local" {} }\n'

    assert without_backend_blocks(text) == "terraform {  }\nterraform {  }\n"


def test_backend_lookalikes_outside_terraform_blocks_are_kept() -> None:
    text = """\
locals {
  doc = <<EOT
terraform {
  backend "s3" {}
}
EOT
}

/* terraform { backend "s3" {} } */
// terraform { backend "s3" {} }
module "m" {
  source = "./m"
  backend "x" {}
}

terraform {
  required_providers {
    backend "y" {}
  }
}
"""

    assert without_backend_blocks(text) == text


def test_only_changed_files_are_rewritten(tmp_path: Path) -> None:
    (tmp_path / "backend.tf").write_text('terraform {\n  backend "gcs" {}\n}\n')
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    (tmp_path / "notes.txt").write_text('terraform {\n  backend "gcs" {}\n}\n')

    assert remove_backend_blocks(tmp_path) == ["backend.tf"]
    assert (tmp_path / "backend.tf").read_text() == "terraform {\n  \n}\n"
    assert "backend" in (tmp_path / "notes.txt").read_text()
