"""`python -m services.search migrate|serve`."""

from services.common.entrypoint import main
from services.search import service
from services.search.settings import SearchSettings

if __name__ == "__main__":  # not when multiprocessing re-imports the main module
    main("search", SearchSettings, migrate=service.migrate, start=service.start)
