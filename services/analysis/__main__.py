"""`python -m services.analysis migrate|serve`."""

from services.analysis import service
from services.analysis.settings import AnalysisSettings
from services.common.entrypoint import main

if __name__ == "__main__":  # not when multiprocessing re-imports the main module
    main("analysis", AnalysisSettings, migrate=service.migrate, start=service.start)
