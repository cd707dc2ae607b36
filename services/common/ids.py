"""Identifiers as they arrive from callers: every row id in the platform is a UUID."""

import uuid


def is_uuid(value: str) -> bool:
    """Whether `value` parses as a UUID; an id that does not cannot name any row."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
