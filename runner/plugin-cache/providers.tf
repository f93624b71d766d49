# The providers baked into the runner image's plugin cache (runner/Dockerfile): a phase in the
# runner's Lambda function (execution lambda) finds them there instead of downloading them
# on each cold start (runner/lambda_handler.py). Add the providers, at the versions, that the
# platform's workspaces use most (e.g. hashicorp/aws): each adds its size to the image.
terraform {
  required_providers {
    null   = { source = "hashicorp/null", version = "3.2.4" }
    random = { source = "hashicorp/random", version = "3.7.2" }
    time   = { source = "hashicorp/time", version = "0.13.1" }
  }
}
