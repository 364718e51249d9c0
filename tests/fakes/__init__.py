"""Stand-ins for the Pulumi CLI, the Kubernetes API server and the policy engine, as the real ones answer."""
