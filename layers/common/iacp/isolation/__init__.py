"""Tenant isolation: what one phase of one run may reach in the platform's account.

The workflow mints, for each runner phase, credentials of the runner's session role narrowed
by a session policy to that run's own objects (docs/security.md, "Per-run credentials").
"""
