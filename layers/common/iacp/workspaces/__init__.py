"""Workspaces: a Terraform configuration's settings, its lock and (later) its runs."""
