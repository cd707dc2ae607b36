"""Real document files made in the tests: PDFs, DOCX, Markdown, HTML, text in several encodings."""

from __future__ import annotations

import io
import zipfile

from docx import Document as DocxDocument
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

MEETING_LINES = [
    "Project Atlas - weekly status meeting",
    "Date: 12 March 2024",
    "Attendees: Priya Shah, Tom Becker, Lena Ortiz",
    "Priya will send the revised vendor contract to legal by Friday.",
    "Tom to update the migration runbook before the cutover rehearsal.",
    "Risk: the data-centre move may delay the go-live by two weeks.",
    "Mitigation: book the backup window with the hosting provider now.",
]


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A text PDF with one list of lines per page."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def encrypted_pdf_bytes() -> bytes:
    reader = PdfReader(io.BytesIO(pdf_bytes([["Top secret steering committee minutes."]])))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret-pass", owner_password="owner-pass")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    """A DOCX with a heading, paragraphs, a table and a list."""
    doc = DocxDocument()
    doc.add_heading("Steering Committee Minutes", level=1)
    doc.add_paragraph("The committee reviewed the Q2 budget for Project Atlas.")
    doc.add_heading("Action items", level=2)
    table = doc.add_table(rows=3, cols=3)
    for row, cells in enumerate(
        (("Action", "Owner", "Due"), ("Approve budget", "Marta", "2024-04-30"), ("Hire QA lead", "Jonas", "2024-05-15"))
    ):
        for column, value in enumerate(cells):
            table.cell(row, column).text = value
    doc.add_paragraph("Escalate vendor delays", style="List Bullet")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_zip_bomb() -> bytes:
    """A DOCX-shaped zip whose document.xml expands to hundreds of megabytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"<w:p>" + b"A" * (1024 * 1024 - 5)
            for _ in range(400):
                member.write(block)
    return out.getvalue()


MARKDOWN = """# Release plan

## Milestones
- Beta in **May**
- GA in *July*

## Risks
The payment provider integration could slip; [details](https://example.invalid/risk).
"""

HTML = """<!doctype html><html><head><title>Status</title><style>body{color:red}</style>
<script>alert('x')</script></head><body><nav>Home | About</nav>
<h1>Weekly status</h1><p>Budget is on track.</p><h2>Blockers</h2><ul><li>Waiting on security review</li></ul>
</body></html>"""

NON_ASCII = "Überprüfung des Budgets: 1.200 € für Café-Workshop, Straße 5, naïve résumé"

GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 64  # an image type that is not read
