"""The TFE-compatible API (``/api/v2``): what the stock ``terraform`` CLI (``cloud {}`` and the
``remote`` backend), go-tfe and the ``tfe`` provider speak, as a thin adapter over iacp's own
services (docs/terraform-cli.md).

Each module here maps one area of Terraform Enterprise's API onto the service that already
does the work: JSON:API documents in and out (``jsonapi``), the protocol's headers and
discovery (``protocol``), and no domain logic of its own.
"""
