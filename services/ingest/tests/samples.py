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


RAID_ROWS: list[tuple[str, ...]] = [
    ("ID", "Risk", "Owner", "Severity", "Mitigation", "Due"),
    (
        "R-01",
        "Payment provider may slip the API release",
        "Priya Shah",
        "High",
        "Weekly call with the vendor",
        "2024-05-01",
    ),
    ("R-02", "Key DBA may leave before the migration", "Tom Becker", "Medium", "Pair Lena with the DBA", "2024-05-15"),
]
ACTION_ROWS: list[tuple[str, ...]] = [
    ("Action", "Owner", "Due", "Status"),
    ("Send the revised cutover plan to the steering group", "Lena Ortiz", "2024-04-26", "Open"),
    ("Book the rehearsal window with hosting", "Tom Becker", "2024-05-03", "Open"),
]


def xlsx(*, hidden_sheet: bool = True, macros: bool = False) -> bytes:
    """A RAID workbook: a title row over a risk table, an action log starting at B2, a hidden lookup sheet."""
    import datetime as dt

    from openpyxl import Workbook

    workbook = Workbook()
    risks = workbook.active
    risks.title = "Risks"
    risks.append(["Project Atlas RAID log"])
    for row in RAID_ROWS:
        values: list[object] = [*row]
        if values[-1] != "Due":
            values[-1] = dt.datetime.fromisoformat(str(values[-1]))
        risks.append(values)
    actions = workbook.create_sheet("Actions")
    for number, row in enumerate(ACTION_ROWS, start=2):
        for column, value in enumerate(row, start=2):
            cell = actions.cell(row=number, column=column, value=value)
            if column == 4 and number > 2:
                cell.value = dt.date.fromisoformat(str(value))
    actions.cell(row=6, column=2, value="Budget used")
    actions.cell(row=6, column=3, value=0.625).number_format = "0.0%"
    if hidden_sheet:
        lookups = workbook.create_sheet("Lookups")
        lookups.append(["Secret lookup values"])
        lookups.sheet_state = "hidden"
    out = io.BytesIO()
    workbook.save(out)
    data = out.getvalue()
    if macros:
        data = _with_part(data, "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA")
    return data


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr(name, content)
    return out.getvalue()


def _retyped(data: bytes, old: str, new: str) -> bytes:
    """The package with its main part's declared content type replaced (an .xlsm or .pptm from an .xlsx, .pptx)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "[Content_Types].xml":
                content = content.replace(old.encode(), new.encode())
            target.writestr(item, content)
    return out.getvalue()


def xlsm() -> bytes:
    """A macro-enabled workbook: read as data, its macros never loaded."""
    data = _retyped(
        xlsx(hidden_sheet=False),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    return _with_part(data, "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA")


def pptx() -> bytes:
    """A steering-committee deck: a title slide, a bulleted slide with notes, a slide with a table."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    title = deck.slides.add_slide(deck.slide_layouts[0])
    title.shapes.title.text = "Atlas steering committee"
    title.placeholders[1].text = "March 2024"
    bullets = deck.slides.add_slide(deck.slide_layouts[1])
    bullets.shapes.title.text = "Decisions"
    body = bullets.placeholders[1].text_frame
    body.text = "Go-live moves to 3 June"
    body.add_paragraph().text = "Budget increase of 40k approved"
    bullets.notes_slide.notes_text_frame.text = "Priya will tell the vendor about the new date by Friday."
    table_slide = deck.slides.add_slide(deck.slide_layouts[5])
    table_slide.shapes.title.text = "Actions"
    rows = ACTION_ROWS[:3]
    shape = table_slide.shapes.add_table(len(rows), 3, Inches(0.5), Inches(1.5), Inches(9), Inches(1.5))
    for r, row in enumerate(rows):
        for c, value in enumerate(row[:3]):
            shape.table.cell(r, c).text = value
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def pptm() -> bytes:
    return _retyped(
        pptx(),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    )


def eml(*, attachments: list[tuple[str, str, bytes]] | None = None, html: bool = False) -> bytes:
    """A message with a plain (or HTML) body, an inline logo, and the given (name, MIME type, bytes) attachments."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Priya Shah <priya@atlas.example>"
    message["To"] = "Tom Becker <tom@atlas.example>, Lena Ortiz <lena@atlas.example>"
    message["Cc"] = "pmo@atlas.example"
    message["Subject"] = "Atlas: cutover plan"
    message["Date"] = "Tue, 12 Mar 2024 09:30:00 +0100"
    message["Message-ID"] = "<cutover-1@atlas.example>"
    body = "Hi all,\n\nTom will send the rollback plan by Friday.\n\nRisk: the vendor may slip the API release.\n"
    message.set_content(body)
    if html:
        message.add_alternative(
            "<html><body><p>Hi all,</p><p>Tom will send the rollback plan by Friday.</p>"
            '<img src="cid:logo@atlas"></body></html>',
            subtype="html",
        )
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None
        html_part.add_related(PNG_LOGO, maintype="image", subtype="png", cid="<logo@atlas>")
    for name, mime, data in attachments or []:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


PNG_LOGO = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


def scanned_page(lines: list[str], *, image_format: str = "PNG", dpi: int = 200) -> bytes:
    """A page of typed text as a scanner would deliver it: a grey image, no text layer."""
    import pypdfium2

    rendered = pypdfium2.PdfDocument(pdf([lines]))[0].render(scale=dpi / 72, grayscale=True).to_pil()
    out = io.BytesIO()
    rendered.save(out, format=image_format, dpi=(dpi, dpi))
    return out.getvalue()


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of page images only (as a scanner makes them), from typed lines."""
    from PIL import Image

    images = [Image.open(io.BytesIO(scanned_page(lines))) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=200)
    return out.getvalue()


def outlook_msg() -> bytes:
    """An Outlook message with a To and a Cc recipient and the RAID workbook attached."""
    import datetime as dt

    from services.ingest.tests.outlook_msg import Recipient, outlook_message

    return outlook_message(
        subject="Atlas cutover plan",
        sender_name="Priya Shah",
        sender_address="priya@atlas.example",
        recipients=[Recipient("Tom Becker", "tom@atlas.example"), Recipient("Lena Ortiz", "lena@atlas.example", 2)],
        body="Hi all,\n\nTom will send the rollback plan by Friday.\n\nRisk: the vendor may slip the API release.\n",
        sent=dt.datetime(2024, 3, 12, 9, 30, tzinfo=dt.UTC),
        attachments=[("raid.xlsx", xlsx())],
    )


def old_word_document() -> bytes:
    """An OLE2 file with a WordDocument stream, as Word 97-2003 saves a .doc."""
    from services.ingest.tests.outlook_msg import compound_file

    return compound_file({"WordDocument": b"\xec\xa5" + b"\x00" * 600, "1Table": b"\x00" * 100})
