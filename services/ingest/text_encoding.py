"""Turning the bytes of a text document into text: BOM, UTF-8, a detected code page, Latin-1 last."""

from __future__ import annotations

import codecs

# Longest BOM first: the UTF-32-LE BOM begins with the UTF-16-LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_DETECTION_BYTES = 1_000_000  # enough evidence; detection time grows with the input


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark announces and the mark's length, if there is one."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def decode_text(data: bytes) -> str:
    """Decode a whole text document; never fails (Latin-1 maps every byte)."""
    found = bom_encoding(data)
    if found is not None:
        encoding, skip = found
        return data[skip:].decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    detected = detected_encoding(data)
    if detected is not None:
        try:
            return data.decode(detected)
        except (UnicodeDecodeError, LookupError):
            pass  # detection looked at a prefix; the rest disagrees
    return data.decode("latin-1")


def detected_encoding(data: bytes) -> str | None:
    """What charset-normalizer finds, preferring Windows-1252 when a Western code page fits as well."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:_DETECTION_BYTES]))
    if not matches:
        return None
    best = matches[0]
    # Short Western texts fit several single-byte code pages equally well; cp1252 is what Windows wrote
    # (and, unlike Latin-1, it has the euro sign).
    for match in matches:
        if match.encoding in _WESTERN and match.chaos <= best.chaos + 0.05:
            return "cp1252" if _fits_cp1252(data) else match.encoding
    return str(best.encoding)


def _fits_cp1252(data: bytes) -> bool:
    try:
        data[:_DETECTION_BYTES].decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True
