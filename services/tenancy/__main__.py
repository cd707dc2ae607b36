"""`python -m services.tenancy migrate|serve`."""

from services.common.entrypoint import main
from services.tenancy import service
from services.tenancy.settings import TenancySettings

if __name__ == "__main__":  # not when multiprocessing re-imports the main module
    main("tenancy", TenancySettings, migrate=service.migrate, start=service.start)
