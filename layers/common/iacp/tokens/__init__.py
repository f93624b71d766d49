"""API tokens (design §8): bearer tokens with a role, optionally limited to workspaces."""
