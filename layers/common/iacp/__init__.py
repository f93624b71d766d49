"""iacp: a self-hosted, AWS-native Terraform run platform.

The package is organised by domain (``workspaces``, ``variables``, ``tokens``); each domain
holds its models, its store (the only code that touches its table) and its service.
"""

__version__ = "0.1.0"
PRODUCT = "iacp"
