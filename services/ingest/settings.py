"""Ingest service settings."""

from __future__ import annotations

from services.common.settings import DEFAULT_PORTS, ServiceSettings, StorageSettings, TenancyPeer


class IngestSettings(ServiceSettings, StorageSettings, TenancyPeer):
    """Upload limits, the processing pipeline, and the worker's leases."""

    grpc_port: int = DEFAULT_PORTS["ingest"]
    max_upload_bytes: int = 50 * 1024 * 1024

    # Stages after extraction that must report back before a document is COMPLETED. Until a stage's
    # service is deployed, leave it out and documents complete without it.
    pipeline_stages: list[str] = ["indexing", "analysis"]

    extraction_workers: int = 2
    extraction_lease_s: int = 180
    extraction_max_attempts: int = 3
    # A later stage that has said nothing for this long fails the document instead of leaving it hanging.
    stage_timeout_s: int = 900
    reaper_interval_s: float = 5.0
    download_url_ttl_s: int = 300

    # OCR of scanned pages and images: more pages than this fail the document with that reason; each page may take
    # ocr_page_seconds on top of the extraction's own time limit. Languages are Tesseract's ("eng", "eng+deu"),
    # each needing its model installed (the tessdata.fast-* wheels).
    ocr_max_pages: int = 100
    ocr_page_seconds: float = 30.0
    ocr_languages: str = "eng"
    # An e-mail's attachments of accepted types become documents of their own; more than this are named, not read.
    max_attachments: int = 20
