"""The resource inventory: every workspace's resources, indexed from its state after each
apply, listed per workspace and found across workspaces by type or cloud id."""
