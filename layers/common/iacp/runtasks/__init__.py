"""Run tasks (design §6): external services that check every run at four stages, speaking HCP
Terraform's run-task protocol. ``models`` holds the shapes, ``store``/``results`` the tables,
``service`` the user API's logic, ``protocol`` the webhook, ``access_tokens`` the JWTs. The
workflow's stages, the services' callbacks and the timeout sweep move runs along, and so are
``iacp.orchestration``'s (``task_stages``, ``task_callbacks``, ``task_sweep``).
"""
