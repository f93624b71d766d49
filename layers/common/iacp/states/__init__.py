"""State versions: the Terraform state a workspace's applies wrote, kept in S3."""
