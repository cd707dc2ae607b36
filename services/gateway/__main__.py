"""`python -m services.gateway migrate|serve`."""

import sys

from services.common.logging import configure_logging
from services.gateway import service
from services.gateway.settings import GatewaySettings

if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging(service="gateway", level=settings.log_level, json=settings.log_json)
    if len(sys.argv) > 1 and sys.argv[1] == "migrate":
        service.migrate(settings)
    else:
        service.serve(settings)
