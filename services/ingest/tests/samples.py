"""Document files generated for the tests: good ones a project team would upload, and bad ones."""

from __future__ import annotations

import io
import struct
import zipfile

from docx import Document
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

# Core PDF fonts cover Latin-1, so no euro sign in PDFs; the text fixtures carry it.
ACCENTED = "Überprüfung der Straße: Café-Workshop, naïve résumé"
NON_ASCII = "Überprüfung des Budgets: 1.200 € für Café-Workshop, Straße 5, naïve résumé"

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
OLE_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56

MARKDOWN = """# Release plan

Owner: **Priya Shah**, see the [RAID log](https://example.invalid/raid).

## Milestones

- Beta in **May**
- GA in *July*
  - includes `v2.0` docs

1. Freeze scope
2. Sign the SOW

## Risks

| Risk | Owner | Due |
|------|-------|-----|
| Payment provider slips | Tom | 2024-05-01 |

```
deploy --env prod
```
"""

HTML = """<!doctype html><html><head><title>Status</title><style>body { color: red }</style>
<script>alert('tracking');</script></head><body><nav>Home | About | Login</nav>
<h1>Weekly status</h1><p>Budget is <b>on track</b>.<br>Scope is frozen.</p>
<div>Loose text in a div</div>
<h2>Blockers</h2><ul><li>Waiting on security review</li><li>Vendor contract <em>unsigned</em></li></ul>
<table><tr><th>Action</th><th>Owner</th></tr><tr><td>Sign contract</td><td>Lena</td></tr></table>
<script type="application/json">{"secret": "do not index"}</script>
</body></html>"""


def pdf(pages: list[list[str]]) -> bytes:
    """A text PDF with one list of lines per page (an empty list makes a blank page)."""
    document = FPDF()
    document.set_font("Helvetica", size=11)
    for lines in pages:
        document.add_page()
        for line in lines:
            document.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def image_only_pdf() -> bytes:
    """What a scan looks like to a text extractor: pages with graphics and no text."""
    document = FPDF()
    for _ in range(2):
        document.add_page()
        document.set_fill_color(120, 120, 120)
        document.rect(20, 20, 170, 250, style="F")
    return bytes(document.output())


PDF_PASSWORD = "s3cret"  # noqa: S105 - locks a generated fixture


def encrypted_pdf(*, user_password: str) -> bytes:
    """An AES-encrypted PDF; with an empty user password anyone may open it (only permissions are restricted)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf([["Steering committee minutes, confidential."]]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")  # noqa: S106 - a fixture
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def slow_pdf(operations: int = 300_000) -> bytes:
    """A few kilobytes that take pypdf many seconds: one page with hundreds of thousands of text operations."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf " + b"1 0 0 1 72 700 Tm (x) Tj " * operations + b"ET")
    page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx() -> bytes:
    """Minutes with a title, a heading, paragraphs, a table, bullets and a numbered list, in that order."""
    document = Document()
    document.add_heading("Steering Committee Minutes", level=0)
    document.add_paragraph("The committee reviewed the Q2 budget for Project Atlas.")
    document.add_heading("Action items", level=1)
    table = document.add_table(rows=3, cols=3)
    rows = (
        ("Action", "Owner", "Due"),
        ("Approve budget", "Marta", "2024-04-30"),
        ("Hire QA lead", "Jonas", "2024-05-15"),
    )
    for row, cells in enumerate(rows):
        for column, value in enumerate(cells):
            table.cell(row, column).text = value
    document.add_paragraph("Escalate vendor delays", style="List Bullet")
    document.add_paragraph("Book the cutover window", style="List Bullet")
    document.add_heading("Decisions", level=2)
    document.add_paragraph("Go-live moves to 3 June.", style="List Number")
    document.add_paragraph(ACCENTED)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb(*, megabytes: int = 256) -> bytes:
    """A DOCX-shaped zip whose word/document.xml inflates to `megabytes` of zeros (about 1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\x00" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(block)
    return out.getvalue()


def understated_docx() -> bytes:
    """A real DOCX whose directory claims word/document.xml is 100 bytes: the kind of lie a bomb tells."""
    data = bytearray(docx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/document.xml")
    central = data.rfind(b"PK\x01\x02", 0)
    while central != -1:
        (name_length,) = struct.unpack_from("<H", data, central + 28)
        if data[central + 46 : central + 46 + name_length] == b"word/document.xml":
            struct.pack_into("<I", data, central + 24, 100)  # uncompressed size in the central directory
            break
        central = data.rfind(b"PK\x01\x02", 0, central)
    struct.pack_into("<I", data, info.header_offset + 22, 100)  # and in the local header
    return bytes(data)


def macro_enabled_docx() -> bytes:
    """A .docm: a Word package whose main part declares macros."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                    b"application/vnd.ms-word.document.macroEnabled.main+xml",
                )
            target.writestr(info.filename, data)
    return out.getvalue()


def plain_zip() -> bytes:
    """A ZIP that is not a Word document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "just a zip")
    return out.getvalue()
