"""Root of the test tree: the platform fixtures come from one plugin, so every directory shares one deployment."""

pytest_plugins = ["tests.platform", "tests.support.browser"]
