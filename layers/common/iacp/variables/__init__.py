"""Workspace variables: Terraform and environment variables, sensitive ones sealed at rest."""
