"""`python -m services.search migrate|serve|reindex`."""

import sys

from services.common.entrypoint import main
from services.search import service
from services.search.settings import SearchSettings

if __name__ == "__main__":  # not when multiprocessing re-imports the main module
    if sys.argv[1:2] == ["reindex"]:
        service.reindex_command(SearchSettings())
    else:
        main("search", SearchSettings, migrate=service.migrate, start=service.start)
