"""OCR quality and speed: the character error rate (CER) of the engine ingest uses (services/ingest/ocr.py, the same
rendering, preparation and Tesseract model) on pages whose right text is known, and pages per second.

Page sets, each rendered at 300 dpi in greyscale, as ingest renders a scanned PDF page:
- generated: the gold project documents (tests/data/gold/*.txt) typeset into PDFs with fpdf2 in Helvetica 11,
  Times 12 and Courier 10; the reference is the text typeset, exactly. Target: CER <= 3% ("clean renders").
- corpus: pages of the shared text PDFs (../shared/corpus/pdf); the reference is the page's own text layer
  (PDFium). A text layer's order is not always reading order (footnotes first, table cells, three columns), so
  beside the plain CER the "flexible" CER aligns each reference line with its best match anywhere in the OCR text
  (order-free, after Clausner et al.'s flexible character accuracy). i1040nr page 5 is left out: its text layer
  interleaves the lines of its three columns, so it cannot serve as a reference.
- scans: the real scan 175.pdf, page 1 against a hand transcription (bench/data/ocr/175-page1.txt, flexible CER:
  the vertical banner and the letterhead are not in the reference); Seige_of_Vicksburg_Sample_OCR.pdf's six
  pages against the invisible OCR layer the file carries (another engine's reading: agreement, not truth).

Texts are compared after NFKC, typographic quotes and dashes made plain, bullets dropped and white space collapsed.
CER = edit distance / reference characters. Pages per second count OCR (prepare + recognise) on one core; render
time is reported apart. A peer engine runs on the same pages in the same run when it is importable: RapidOCR
(rapidocr-onnxruntime, PP-OCRv4 ONNX models inside its wheel), `--peer rapidocr`; it is not a project dependency.

Usage: python bench/ocr_quality.py [--peer rapidocr] [--quick]
Writes bench/results/ocr_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from services.ingest.extracted import ExtractionLimits  # noqa: E402 - after the path set-up above
from services.ingest.ocr import RENDER_DPI, OcrEngine, prepared  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
GOLD = ROOT / "tests" / "data" / "gold"
TRANSCRIPTION = ROOT / "bench" / "data" / "ocr" / "175-page1.txt"
RESULTS = ROOT / "bench" / "results" / "ocr_quality.json"
TARGET_CER = 0.03
CORPUS_PAGES = [
    ("002-trivial-libre-office-writer", 1),
    ("google-doc-document", 1),
    ("cupertino_usd_4-6-16", 1),
    ("dmca", 1),
    ("dmca", 2),
    ("dmca", 3),
    ("GeoBase_NHNC1_Data_Model_UML_EN", 5),
    ("GeoBase_NHNC1_Data_Model_UML_EN", 6),
    ("scotus-transcript-p1", 1),
    ("naacl06-shinyama", 1),
    ("naacl06-shinyama", 2),
    ("multicolumn", 1),
    ("issue-316-example", 2),
    ("federal-register-2020-17221", 2),
]
_PLAIN = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u00a0": " ",
        "\u2022": "", "\u25cf": "", "\uf0b7": "", "\u2026": "...",
    }
)  # fmt: skip


def normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(_PLAIN).split())


def distance(a: str, b: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))


def flexible_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(errors, reference characters) with each reference line aligned to its best match anywhere in the OCR."""
    from rapidfuzz import fuzz

    found = normal(hypothesis)
    errors = length = 0
    for line in reference.splitlines():
        expected = normal(line)
        if not expected:
            continue
        length += len(expected)
        if not found:
            errors += len(expected)
            continue
        match = fuzz.partial_ratio_alignment(expected, found)
        errors += distance(expected, found[match.dest_start : match.dest_end]) if match else len(expected)
    return errors, length


@dataclass
class Page:
    label: str
    image: Any
    reference: str
    render_s: float


def _render(pdf: Any, number: int) -> tuple[Any, float]:
    started = time.perf_counter()
    image = pdf[number - 1].render(scale=RENDER_DPI / 72, grayscale=True).to_pil()
    return image, time.perf_counter() - started


def generated_pages(quick: bool) -> Iterator[Page]:
    import pypdfium2
    from fpdf import FPDF

    fonts = [("Helvetica", 11), ("Times", 12), ("Courier", 10)]
    for index, path in enumerate(sorted(GOLD.glob("*.txt"))[: 4 if quick else None]):
        text = path.read_text().translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")
        family, size = fonts[index % len(fonts)]
        document = FPDF(format="A4")
        document.set_margins(20, 20)
        document.set_auto_page_break(False)
        document.add_page()
        document.set_font(family, size=size)
        document.multi_cell(0, size * 0.5, text)
        pdf = pypdfium2.PdfDocument(bytes(document.output()))
        image, render_s = _render(pdf, 1)
        yield Page(f"{path.stem} [{family} {size}]", image, text, render_s)


def corpus_pages(quick: bool) -> Iterator[Page]:
    import pypdfium2

    for name, number in CORPUS_PAGES[: 4 if quick else None]:
        pdf = pypdfium2.PdfDocument(str(CORPUS / f"{name}.pdf"))
        reference = pdf[number - 1].get_textpage().get_text_bounded()
        image, render_s = _render(pdf, number)
        yield Page(f"{name} p{number}", image, reference, render_s)


def scan_pages() -> Iterator[Page]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(CORPUS / "175.pdf"))
    image, render_s = _render(pdf, 1)
    yield Page("175 p1 (hand transcription)", image, TRANSCRIPTION.read_text(), render_s)


def vicksburg_pages() -> Iterator[Page]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(CORPUS / "Seige_of_Vicksburg_Sample_OCR.pdf"))
    for number in range(1, len(pdf) + 1):
        reference = pdf[number - 1].get_textpage().get_text_bounded()
        image, render_s = _render(pdf, number)
        yield Page(f"Vicksburg p{number} (vs its OCR layer)", image, reference, render_s)


def tesseract() -> Callable[[Any], str]:
    limits = ExtractionLimits()
    engine = OcrEngine(limits)
    return lambda image: engine.read(prepared(image, limits))


def rapidocr() -> Callable[[Any], str]:
    import numpy
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def read(image: Any) -> str:
        found, _ = engine(numpy.array(image.convert("RGB")))
        return "\n".join(str(item[1]) for item in found or [])

    return read


def measure(read: Callable[[Any], str], pages: list[Page], *, flexible_only: bool = False) -> dict[str, Any]:
    errors = length = flexible = flexible_length = 0
    ocr_s = render_s = 0.0
    per_page = []
    for page in pages:
        started = time.perf_counter()
        text = read(page.image)
        spent = time.perf_counter() - started
        reference = normal(page.reference)
        plain = distance(reference, normal(text))
        flex, flex_length = flexible_errors(page.reference, text)
        errors, length = errors + plain, length + len(reference)
        flexible, flexible_length = flexible + flex, flexible_length + flex_length
        ocr_s, render_s = ocr_s + spent, render_s + page.render_s
        row = {"page": page.label, "chars": len(reference), "flexible_cer": round(flex / max(flex_length, 1), 4)}
        if not flexible_only:
            row["cer"] = round(plain / max(len(reference), 1), 4)
        row["seconds"] = round(spent, 2)
        per_page.append(row)
        print(f"  {page.label:55} {json.dumps({k: v for k, v in row.items() if k != 'page'})}", flush=True)
    result: dict[str, Any] = {
        "pages": len(pages),
        "flexible_cer": round(flexible / max(flexible_length, 1), 4),
        "pages_per_s": round(len(pages) / ocr_s, 3) if ocr_s else None,
        "render_s_per_page": round(render_s / max(len(pages), 1), 3),
    }
    if not flexible_only:
        result["cer"] = round(errors / max(length, 1), 4)
    result["per_page"] = per_page
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=["rapidocr"], help="also run this engine on the same pages")
    parser.add_argument("--quick", action="store_true", help="four pages per set")
    args = parser.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per page, as in an extraction worker
    sets: dict[str, list[Page]] = {"generated": list(generated_pages(args.quick))}
    if CORPUS.is_dir():
        sets["corpus"] = list(corpus_pages(args.quick))
        sets["scan_175_p1"] = list(scan_pages())
        sets["vicksburg_vs_embedded_ocr"] = list(vicksburg_pages())
    else:
        print(f"no shared corpus at {CORPUS}: generated pages only", flush=True)
    engines: dict[str, Callable[[], Callable[[Any], str]]] = {"tesseract": tesseract}
    if args.peer == "rapidocr":
        engines["rapidocr"] = rapidocr
    load_before = os.getloadavg()
    result: dict[str, Any] = {"target_cer_generated": TARGET_CER, "dpi": RENDER_DPI, "engines": {}}
    for name, make in engines.items():
        read = make()
        result["engines"][name] = {}
        for set_name, pages in sets.items():
            print(f"{name} / {set_name}", flush=True)
            flexible_only = set_name == "scan_175_p1"
            result["engines"][name][set_name] = measure(read, pages, flexible_only=flexible_only)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    import tesserocr

    result["tesseract_version"] = tesserocr.tesseract_version().splitlines()[0]
    generated = result["engines"]["tesseract"]["generated"]
    result["target_met"] = generated["cer"] <= TARGET_CER
    summary = {
        engine: {s: {k: v for k, v in r.items() if k != "per_page"} for s, r in sets_.items()}
        for engine, sets_ in result["engines"].items()
    }
    print(json.dumps(summary, indent=2), flush=True)
    print(f"target CER <= {TARGET_CER:.0%} on clean renders: {'met' if result['target_met'] else 'missed'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
