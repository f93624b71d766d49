"""Runs: a plan, and perhaps an apply, of a workspace, sequenced by the run workflow."""
