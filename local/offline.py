"""Local mode never talks to AWS. Call ``isolate_from_aws()`` before the platform's modules
are imported (moto and Powertools read the environment on import): none of the user's AWS
settings (a profile, keys, endpoints, ~/.aws) reaches the platform, which gets moto's
endpoint and dummy credentials when it starts. A profile that does not exist would otherwise
break moto's import itself."""

import os


def isolate_from_aws() -> None:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    # Metrics (CloudWatch's EMF lines) and X-Ray traces have nowhere to go on this machine.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
