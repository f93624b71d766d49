"""The HTTP API's routers, one per domain (``iacp.api`` gathers them into the functions'
resolvers). A route validates, takes its caller (``iacp.http.Caller``) and its service, which
the function's handler provides (``iacp.http.provided``), and calls the service: a router
imports its domain and ``iacp.http``, never the wiring."""
