"""The Terraform runner: one process per run phase (docs/run-pipeline.md, design §5).

``python -m runner.main`` fetches the configuration, runs Terraform, streams its output to the
run's log in S3 and leaves the phase's artifacts and ``result.json`` in the artifacts bucket.
"""
