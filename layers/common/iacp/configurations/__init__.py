"""Configuration versions: the Terraform files a run plans, uploaded as a .tar.gz."""
