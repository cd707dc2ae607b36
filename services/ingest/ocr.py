"""Optical character recognition, offline: Tesseract's LSTM engine (tesserocr, which carries libtesseract) with the
tessdata_fast models from the tessdata.* wheels; PDF pages are rendered with PDFium (pypdfium2).

Chosen by measurement (bench/ocr_quality.py): on 300-dpi renders it reads clean pages almost without error and
several times faster than the ONNX alternative (RapidOCR), which drops the spaces between English words.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.ingest.extracted import Deadline, ExtractionError, ExtractionLimits

if TYPE_CHECKING:
    from PIL.Image import Image

RENDER_DPI = 300
# Below this many pixels on the long side an image is likely a screenshot or a fax: Tesseract reads text best at
# 20-30 px per line, so such an image is enlarged first.
_SMALL_IMAGE_SIDE = 2000


def tessdata_path() -> str:
    """Where the tessdata wheels install the models (<prefix>/share/tessdata), or PMDI_TESSDATA_PREFIX."""
    configured = os.environ.get("PMDI_TESSDATA_PREFIX")
    if configured:
        return configured
    try:
        import tessdata
    except ImportError:
        return ""
    return str(tessdata.data_path())


class OcrEngine:
    """One Tesseract instance, loaded once per extraction and reused for every page."""

    def __init__(self, limits: ExtractionLimits) -> None:
        try:
            import tesserocr
        except ImportError as exc:
            raise ExtractionError(
                "The document needs OCR, but no OCR engine is installed on this server (tesserocr); "
                "an administrator can install it with the project's dependencies."
            ) from exc
        path = tessdata_path()
        languages = limits.ocr_languages
        missing = [
            language
            for language in languages.split("+")
            if not path or not (Path(path) / f"{language}.traineddata").is_file()
        ]
        if missing:
            raise ExtractionError(
                "The document needs OCR, but the OCR language data for "
                f"{', '.join(repr(m) for m in missing)} is not installed on this server."
            )
        try:
            self._api: Any = tesserocr.PyTessBaseAPI(
                path=path.rstrip("/") + "/", lang=languages, oem=tesserocr.OEM.LSTM_ONLY, psm=tesserocr.PSM.AUTO
            )
        except RuntimeError as exc:
            raise ExtractionError(f"The OCR engine could not start ({exc}).") from exc

    def read(self, image: Image) -> str:
        """The text of one page image, lines in reading order, paragraphs separated by blank lines."""
        self._api.SetImage(image)
        text = self._api.GetUTF8Text()
        self._api.Clear()
        return str(text)

    def close(self) -> None:
        self._api.End()


def prepared(image: Image, limits: ExtractionLimits) -> Image:
    """A page image as Tesseract reads it best: 8-bit grey on white, small images enlarged within the pixel limit."""
    from PIL import Image as PILImage

    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = PILImage.new("RGBA", image.size, "white")
        image = PILImage.alpha_composite(background, image)
    if image.mode != "L":
        image = image.convert("L")
    width, height = image.size
    if max(width, height) < _SMALL_IMAGE_SIDE and width * height * 4 <= limits.max_image_pixels:
        image = image.resize((width * 2, height * 2), PILImage.Resampling.LANCZOS)
    return image


def render_pdf_pages(path: Path, numbers: list[int], limits: ExtractionLimits) -> Iterator[tuple[int, Image]]:
    """(page number, image) at 300 dpi for the given 1-based pages, scaled down when a page would exceed the pixel
    limit (a poster-sized page)."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        raise ExtractionError(f"The PDF's pages could not be rendered for OCR ({exc}).") from exc
    try:
        for number in numbers:
            page = document[number - 1]
            try:
                width, height = page.get_size()  # points: 1/72 inch
                scale = RENDER_DPI / 72
                pixels = width * scale * height * scale
                if pixels > limits.max_image_pixels:
                    scale *= math.sqrt(limits.max_image_pixels / pixels)
                bitmap = page.render(scale=scale, grayscale=True)
                yield number, bitmap.to_pil()
            finally:
                page.close()
    finally:
        document.close()


def read_pages(
    engine: OcrEngine, pages: Iterator[tuple[int, Image]], total: int, limits: ExtractionLimits, deadline: Deadline
) -> Iterator[tuple[int, str]]:
    """Each page's OCR text, reporting progress and claiming the page's time allowance before reading it."""
    for done, (number, image) in enumerate(pages):
        deadline.progress(done, total, extra_seconds=limits.ocr_page_seconds)
        yield number, engine.read(prepared(image, limits))
    deadline.progress(total, total, extra_seconds=0.0)


def read_image(path: Path, limits: ExtractionLimits, deadline: Deadline) -> tuple[list[tuple[int, str]], int]:
    """OCR of a PNG, JPEG or TIFF (every frame of a multi-page TIFF is a page): (page, text) pairs and the count."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    PILImage.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding, with our own limit
    try:
        image = PILImage.open(path)
    except UnidentifiedImageError as exc:
        raise ExtractionError("The image is damaged or truncated, or not a PNG, JPEG or TIFF.") from exc
    with image:
        frames = getattr(image, "n_frames", 1)
        if frames > limits.ocr_max_pages:
            raise ExtractionError(f"The image has {frames} pages, over the {limits.ocr_max_pages}-page OCR limit.")
        engine = OcrEngine(limits)
        try:
            return list(read_pages(engine, _frames(image, frames, limits), frames, limits, deadline)), frames
        finally:
            engine.close()


def _frames(image: Image, count: int, limits: ExtractionLimits) -> Iterator[tuple[int, Image]]:
    for index in range(count):
        image.seek(index)
        width, height = image.size
        if width * height > limits.max_image_pixels:
            raise ExtractionError(
                f"The image is {width:,} x {height:,} pixels, over the {limits.max_image_pixels:,}-pixel limit."
            )
        frame = image.copy()
        frame.load()
        yield index + 1, frame
