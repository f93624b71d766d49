# A configuration that plans and applies anywhere, with no provider to download:
# terraform_data is built into Terraform.

variable "environment" {
  type    = string
  default = "dev"
}

variable "services" {
  type    = list(string)
  default = ["api", "worker"]
}

resource "terraform_data" "service" {
  for_each = toset(var.services)
  input = {
    name        = each.value
    environment = var.environment
  }
}

output "services" {
  value = sort([for s in terraform_data.service : s.output.name])
}
