"""`python -m devstack.embedded up|down|env` (data under PMDI_DATA_DIR, default ./.pmdi)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from devstack.embedded.stack import start_stack, stop_stack


def main() -> None:
    data_dir = Path(os.environ.get("PMDI_DATA_DIR", ".pmdi"))
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "up":
        endpoints = start_stack(data_dir)
        print(f"postgres: {endpoints.database_admin_url.rsplit('@', 1)[-1]}\nnats: {endpoints.nats_url}")
        print(f"s3: {endpoints.s3_endpoint}")
    elif command == "env":
        endpoints = start_stack(data_dir)
        print(f"export DATABASE_URL='{endpoints.database_admin_url}'\nexport NATS_URL='{endpoints.nats_url}'")
        print(f"export S3_ENDPOINT='{endpoints.s3_endpoint}'\nexport S3_ACCESS_KEY='{endpoints.s3_access_key}'")
        print(f"export S3_SECRET_KEY='{endpoints.s3_secret_key}'")
    elif command == "down":
        stop_stack(data_dir)
    else:
        sys.exit("usage: python -m devstack.embedded up|down|env")


if __name__ == "__main__":
    main()
