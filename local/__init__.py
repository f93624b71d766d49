"""Local mode: the platform on one machine, with moto standing in for AWS.

Everything here reads ``template.yaml`` rather than restating it: the tables, the functions'
environment, the API's routes, authorizer and gateway responses come from the one template
that is deployed.
"""
