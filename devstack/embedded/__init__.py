"""The embedded stack: PostgreSQL + pgvector, NATS JetStream and S3 (SeaweedFS), all from PyPI wheels."""

from devstack.embedded.stack import StackEndpoints, start_stack, stop_stack

__all__ = ["StackEndpoints", "start_stack", "stop_stack"]
