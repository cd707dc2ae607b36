"""Text from PDFs with pypdf, page by page, keeping page numbers."""

from __future__ import annotations

from pathlib import Path

from services.ingest.extracted import (
    Deadline,
    ExtractedDocument,
    ExtractionError,
    ExtractionLimits,
    TextBuilder,
    brief_error,
)

PASSWORD_PROTECTED = "The PDF is password-protected; upload an unencrypted copy."  # noqa: S105 - a message, not a secret


def read_pdf(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """Each page's text as one block, pages joined by a blank line; blank pages keep their number but no span."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        # Many PDFs are encrypted only to restrict printing or copying: the empty user password opens them.
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except DependencyError as exc:
            raise ExtractionError(f"The PDF uses an encryption this service cannot read ({exc}).") from exc
        if not opened:
            raise ExtractionError(PASSWORD_PROTECTED)
    try:
        count = len(reader.pages)
    except FileNotDecryptedError as exc:
        raise ExtractionError(PASSWORD_PROTECTED) from exc
    if count > limits.max_pages:
        raise ExtractionError(f"The PDF has {count} pages, over the {limits.max_pages}-page limit.")
    builder = TextBuilder(limits)
    failures: list[Exception] = []
    for number in range(1, count + 1):
        deadline.check()
        try:
            text = reader.pages[number - 1].extract_text()
        except FileNotDecryptedError as exc:
            raise ExtractionError(PASSWORD_PROTECTED) from exc
        except (RecursionError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - one broken page should not cost the rest of the document
            failures.append(exc)
            continue
        builder.page(number, text or "")
    if failures and len(failures) == count:
        raise ExtractionError(f"The file is damaged or truncated: no page could be read ({brief_error(failures[0])}).")
    return builder.build(count)
