"""Text from PDFs with pypdf, page by page, keeping page numbers; pages without a text layer are read by OCR."""

from __future__ import annotations

import re
from pathlib import Path

from services.ingest.extracted import (
    Deadline,
    ExtractedDocument,
    ExtractionError,
    ExtractionLimits,
    TextBuilder,
    brief_error,
)
from services.ingest.ocr import OcrEngine, read_pages, render_pdf_pages

PASSWORD_PROTECTED = "The PDF is password-protected; upload an unencrypted copy."  # noqa: S105 - a message, not a secret
# A page is read by OCR when its text layer is empty (a scan, or text drawn as shapes), or has little text while
# images cover most of it (a scan under a typed page number, header or stamp).
_LITTLE_TEXT_BELOW = 200
_SCANNED_COVERAGE = 0.5
_VISIBLE = re.compile(r"\w")


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
    texts: dict[int, str] = {}
    failures: list[Exception] = []
    for number in range(1, count + 1):
        deadline.check()
        try:
            texts[number] = reader.pages[number - 1].extract_text() or ""
        except FileNotDecryptedError as exc:
            raise ExtractionError(PASSWORD_PROTECTED) from exc
        except (RecursionError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - one broken page should not cost the rest of the document
            failures.append(exc)
            continue
    if failures and len(failures) == count:
        raise ExtractionError(f"The file is damaged or truncated: no page could be read ({brief_error(failures[0])}).")
    scanned = _pages_to_read_by_ocr(path, texts, deadline)
    if len(scanned) > limits.ocr_max_pages:
        raise ExtractionError(
            f"The PDF has {len(scanned)} pages without a text layer, over the {limits.ocr_max_pages}-page OCR limit."
        )
    if scanned:
        engine = OcrEngine(limits)
        try:
            rendered = render_pdf_pages(path, scanned, limits)
            texts.update(read_pages(engine, rendered, len(scanned), limits, deadline))
        finally:
            engine.close()
    builder = TextBuilder(limits)
    for number in sorted(texts):
        builder.page(number, texts[number])
    return builder.build(count)


def _pages_to_read_by_ocr(path: Path, texts: dict[int, str], deadline: Deadline) -> list[int]:
    """Pages with no text layer; pages with little text are read too when images cover most of them."""
    scanned = [number for number, text in texts.items() if not _VISIBLE.search(text)]
    few = [
        number
        for number, text in texts.items()
        if number not in scanned and len(_VISIBLE.findall(text)) < _LITTLE_TEXT_BELOW
    ]
    if few:
        scanned += [number for number in few if _image_coverage(path, number, deadline) >= _SCANNED_COVERAGE]
    return sorted(scanned)


def _image_coverage(path: Path, number: int, deadline: Deadline) -> float:
    """The share of the page that images cover (overlaps counted once per image, capped at the whole page)."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    deadline.check()
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError:
        return 0.0
    try:
        page = document[number - 1]
        width, height = page.get_size()
        covered = 0.0
        for item in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, bottom, right, top = item.get_bounds()
            covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
        page.close()
        return float(min(1.0, covered / max(width * height, 1.0)))
    finally:
        document.close()
