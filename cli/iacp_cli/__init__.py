"""``iacp``: the platform's command-line client.

It speaks the user API (``{url}/api/v1``) over HTTP with an API token, and uses the standard
library only, so it installs anywhere without dependencies.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iacp")
except PackageNotFoundError:  # run from a checkout without installing it
    __version__ = "0+unknown"
