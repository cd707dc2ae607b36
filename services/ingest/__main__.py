"""`python -m services.ingest migrate|serve`."""

from services.common.entrypoint import main
from services.ingest import service
from services.ingest.settings import IngestSettings

if __name__ == "__main__":  # not when multiprocessing re-imports the main module
    main("ingest", IngestSettings, migrate=service.migrate, start=service.start)
