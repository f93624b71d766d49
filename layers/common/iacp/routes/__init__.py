"""The HTTP API's routers, one per domain (``iacp.api`` gathers them into the functions'
resolvers). A route validates, takes its caller (``iacp.http.Caller``) and its service, which
the function's handler provides (``iacp.http.provided``), and calls the service: a router
imports its domain and ``iacp.http``, never the wiring. A router defers its annotations
(``from __future__ import annotations``): Powertools evaluates a route's at its first
request, so that a function does not create the ``Page[X]`` and other types of every route
when it loads (iacp.pagination.Page)."""
