"""The platform fixtures of tests/conftest.py, for the search service's integration tests."""

from tests.conftest import (  # noqa: F401 - pytest finds fixtures by name in this module
    deployment,
    gateway,
    launcher,
    org_factory,
    org_factory_module,
)
