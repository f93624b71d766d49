"""The run's orchestration: what moves a run along across the domains below it. The workflow's
steps (``workflow``, ``task_stages``, ``steps``) and its client, the queue, the one way a run
ends (``finish``) and the reconcile of an execution that ended without it, the follow-ups and
the run-task timeout sweep, the runs' user actions (``run_service``), the run-task services'
callbacks, and the repository events that start runs (``vcs_triggers`` and their two sources).
Only the API's routers and the wiring (``iacp.services``) sit above it (docs/architecture.md,
"Floors")."""
