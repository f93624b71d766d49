"""Examples for the platform: a Terraform configuration and a run-task service."""
