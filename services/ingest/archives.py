"""Office files are ZIP packages: refuse one that would expand past the limits, from its directory alone."""

from __future__ import annotations

import zipfile
from pathlib import Path

from services.ingest.extracted import MB, ExtractionError, ExtractionLimits, human_size

# Below this size a member cannot hurt whatever its ratio; small, repetitive XML parts compress very well.
_RATIO_FLOOR = 1 * MB


def check_archive(
    path: Path, limits: ExtractionLimits, *, label: str, body: str, unreadable: str, missing: str
) -> None:
    """Refuse a package without its `body` part, or that would expand past the limits, before decompressing it.

    `label` names the format in reasons ("DOCX"); `unreadable` and `missing` are the reasons for a file that is not
    a ZIP and for one without the body part."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ExtractionError(unreadable) from exc
    if not any(member.filename == body for member in members):
        raise ExtractionError(missing)
    if len(members) > limits.max_zip_members:
        raise ExtractionError(
            f"The {label} holds {len(members):,} parts, over the {limits.max_zip_members:,}-part limit "
            "(possible zip bomb)."
        )
    # The declared sizes bound what the readers can get: zipfile stops a member at its declared size and then
    # fails its CRC check, so an archive that understates sizes reads as damaged, never as a bigger payload.
    total = sum(member.file_size for member in members)
    if total > limits.max_uncompressed_bytes:
        raise ExtractionError(
            f"The {label} expands to {human_size(total)} when unpacked, over the "
            f"{human_size(limits.max_uncompressed_bytes)} limit (possible zip bomb)."
        )
    for member in members:
        if member.file_size <= _RATIO_FLOOR:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise ExtractionError(
                f"The {label} part {member.filename} is compressed {ratio:,.0f}:1, over the "
                f"{limits.max_compression_ratio}:1 limit (possible zip bomb)."
            )
