"""Run tasks (design §6): external services that check every run at four stages, speaking HCP
Terraform's run-task protocol. ``models`` holds the shapes, ``store``/``results`` the tables,
``service`` the user API's logic, ``protocol`` the webhook, ``access_tokens`` the JWTs,
``stages`` the workflow's steps, ``callbacks`` the services' side and ``sweep`` the timeouts.
"""
