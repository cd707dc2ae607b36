"""Times as protobuf carries them."""

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(at: datetime) -> Timestamp:
    """`at` as a protobuf Timestamp; a naive datetime is taken as UTC (protobuf's own rule)."""
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp
