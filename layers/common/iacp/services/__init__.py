"""The wiring: each function's stores and services, built once per process. One module per
kind of function, each importing only what its functions use: a Lambda function's cold start
imports everything its handler's module imports (docs/performance.md, "Cold imports")."""
