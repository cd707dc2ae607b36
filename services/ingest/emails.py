"""E-mails: RFC 5322 messages (.eml, with the standard library) and Outlook messages (.msg, with python-oxmsg).

The sender, recipients and date stay as header lines and as metadata, the subject heads the body that follows
(the plain-text part, else the HTML one). Attachments of an accepted type are written beside the message for the
pipeline to make into documents of their own; inline images (a logo in a signature) are not attachments."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from pathlib import Path

from services.ingest.extracted import (
    Attachment,
    Deadline,
    EmailHeaders,
    ExtractedDocument,
    ExtractionError,
    ExtractionLimits,
    TextBuilder,
    human_size,
)
from services.ingest.markup import read_html
from services.ingest.media_types import SUPPORTED, RefusedType, confirm_media_type

ATTACHMENTS_DIR = "attachments"


@dataclass(frozen=True)
class _Part:
    file_name: str
    data: bytes | None  # None: not attached by value (a link, an embedded Outlook item)


@dataclass(frozen=True)
class _Message:
    headers: EmailHeaders
    body: str
    html: bool
    parts: list[_Part]


def read_eml(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """A MIME message: headers, body, attachments."""
    size = path.stat().st_size
    if size > limits.max_uncompressed_bytes:
        raise ExtractionError(
            f"The file is {human_size(size)}, over the {human_size(limits.max_uncompressed_bytes)} limit."
        )
    with path.open("rb") as source:
        message = BytesParser(policy=policy.default).parse(source)
    assert isinstance(message, EmailMessage)
    deadline.check()
    return _build(_from_mime(message), path, limits, deadline)


def read_msg(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """An Outlook message: headers from its properties, body, attachments."""
    from oxmsg import Message

    try:
        message = Message.load(str(path))
    except (ValueError, OSError) as exc:
        raise ExtractionError("The file is damaged or truncated, or not an Outlook message (.msg).") from exc
    deadline.check()
    recipients: dict[int, list[str]] = {1: [], 2: []}
    for recipient in message.recipients:
        kind = recipient.properties.int_prop_value(0x0C15) or 1  # PidTagRecipientType: 1 To, 2 Cc, 3 Bcc
        if kind in recipients:
            recipients[kind].append(_address(recipient.name, recipient.email_address))
    sent = message.sent_date
    headers = EmailHeaders(
        sender=_address(*email.utils.parseaddr(message.sender)) if message.sender else "",
        to=tuple(recipients[1]),
        cc=tuple(recipients[2]),
        date=sent.astimezone(dt.UTC).isoformat() if sent else None,
        subject=message.subject,
    )
    html = message.html_body
    plain = message.body
    parts = []
    for attachment in message.attachments:
        if attachment.properties.str_prop_value(0x3712) and html and "cid:" in html:  # PidTagAttachContentId
            continue  # an image shown in the body
        name = attachment.file_name or attachment.properties.str_prop_value(0x3704) or "attachment"
        data = attachment.file_bytes if attachment.attached_by_value else None
        parts.append(_Part(name, data))
    if plain and plain.strip():
        return _build(_Message(headers, plain, False, parts), path, limits, deadline)
    return _build(_Message(headers, html or "", True, parts), path, limits, deadline)


def _from_mime(message: EmailMessage) -> _Message:
    def addresses(field: str) -> tuple[str, ...]:
        values = [str(value) for value in message.get_all(field, [])]
        return tuple(_address(name, address) for name, address in email.utils.getaddresses(values) if name or address)

    sent = None
    raw_date = message.get("Date") or message.get("Sent")
    if raw_date:
        try:
            parsed = email.utils.parsedate_to_datetime(str(raw_date))
            sent = (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
        except (TypeError, ValueError, IndexError):
            sent = None
    senders = addresses("From")
    headers = EmailHeaders(
        sender=", ".join(senders) if senders else " ".join(str(message.get("From", "")).split()),
        to=addresses("To"),
        cc=addresses("Cc"),
        date=sent,
        subject=" ".join(str(message.get("Subject", "")).split()),
        written_date=None if sent else (" ".join(str(raw_date).split()) if raw_date else None),
    )
    body_part = message.get_body(preferencelist=("plain", "html"))
    body, html = "", False
    if body_part is not None:
        body = _content(body_part)
        html = body_part.get_content_subtype() == "html"
    elif not message.is_multipart():
        body = _content(message)
    parts = []
    for part in message.iter_attachments():
        disposition = part.get_content_disposition()
        if disposition != "attachment" and (disposition == "inline" or part.get("Content-ID")):
            continue  # an image or part shown in the body
        name = part.get_filename() or f"attachment.{part.get_content_subtype()}"
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            forwarded = inner[0] if isinstance(inner, list) and inner else None
            data = forwarded.as_bytes() if isinstance(forwarded, EmailMessage) else None
            name = part.get_filename() or "forwarded.eml"
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else None
        parts.append(_Part(name, data))
    return _Message(headers, body, html, parts)


def _content(part: MIMEPart) -> str:
    """A text part's words, whatever its declared charset says."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _address(name: str | None, address: str | None) -> str:
    name, address = (name or "").strip(), (address or "").strip()
    if name and address and name != address:
        return f"{name} <{address}>"
    return name or address


def _build(message: _Message, path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    attachments, notes = _save_attachments(message.parts, path, limits)
    headers = message.headers
    builder = TextBuilder(limits)
    # The header lines come first and the subject heads the body: under a subject such as "Steering decisions" the
    # body is a decisions section, the sender and recipients are not.
    lines = [f"From: {headers.sender}"] if headers.sender else []
    if headers.to:
        lines.append(f"To: {', '.join(headers.to)}")
    if headers.cc:
        lines.append(f"Cc: {', '.join(headers.cc)}")
    if headers.date:
        sent = dt.datetime.fromisoformat(headers.date)
        lines.append(f"Date: {sent:%A}, {sent.day} {sent:%B %Y}, {sent:%H:%M} UTC")
    elif headers.written_date:
        lines.append(f"Date: {headers.written_date}")
    if message.parts:
        lines.append(f"Attachments: {', '.join(part.file_name for part in message.parts)}")
    builder.block("\n".join(lines))
    if headers.subject:
        builder.block(headers.subject, heading_level=1)
    if message.html:
        body = read_html(message.body, limits, deadline)
        for paragraph in body.text.split("\n\n"):
            builder.block(paragraph)
    else:
        for paragraph in message.body.replace("\r\n", "\n").split("\n\n"):
            builder.block(paragraph)
    if notes:
        builder.block("\n".join(notes))
    document = builder.build(None)
    document.email = headers
    document.attachments = attachments
    return document


def _save_attachments(parts: list[_Part], path: Path, limits: ExtractionLimits) -> tuple[list[Attachment], list[str]]:
    """Write each attachment of an accepted type beside the message; the others are named in a closing note."""
    folder = path.parent / ATTACHMENTS_DIR
    saved: list[Attachment] = []
    notes: list[str] = []
    for number, part in enumerate(parts, start=1):
        name = " ".join(part.file_name.replace("/", "_").replace("\\", "_").split())[:255] or "attachment"
        if part.data is None:
            notes.append(f"Attachment {name} was not read: it is not attached as a file.")
            continue
        if not part.data:
            notes.append(f"Attachment {name} was not read: it is empty.")
            continue
        if len(part.data) > limits.max_attachment_bytes:
            notes.append(
                f"Attachment {name} was not read: it is {human_size(len(part.data))}, over the "
                f"{human_size(limits.max_attachment_bytes)} limit."
            )
            continue
        if len(saved) >= limits.max_attachments:
            notes.append(f"Attachment {name} was not read: the message has more than {limits.max_attachments}.")
            continue
        folder.mkdir(exist_ok=True)
        target = folder / f"{number:03d}"
        target.write_bytes(part.data)
        try:
            kind = confirm_media_type(target)
        except RefusedType as refused:
            kind, reason = None, refused.reason
        else:
            reason = "its type is not one this service reads"
        if kind is None or kind not in SUPPORTED:
            target.unlink()
            notes.append(f"Attachment {name} was not read: {reason}.")
            continue
        saved.append(Attachment(file_name=name, path=str(target), content_type=kind, size_bytes=len(part.data)))
    return saved, notes
