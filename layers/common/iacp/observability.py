"""Powertools set up once for every function. Nothing here logs request bodies: they can
carry sensitive variable values and tokens."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
