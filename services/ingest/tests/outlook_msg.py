"""Outlook .msg files for the tests, written from the specifications: an OLE2 compound file ([MS-CFB], version 3)
holding a message's properties as [MS-OXMSG] lays them out. No library writes .msg files; the readers under test
(olefile, python-oxmsg) read these as they read Outlook's."""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREE, _END, _FAT_SECTOR = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF

_STRING, _BINARY, _INT32, _TIME = 0x001F, 0x0102, 0x0003, 0x0040


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    id: int = 0
    start: int = _END
    left: int = _NO_STREAM
    right: int = _NO_STREAM
    child: int = _NO_STREAM


def _storage(name: str, streams: dict[str, bytes], storages: list[_Entry] | None = None) -> _Entry:
    entry = _Entry(name, 1)
    entry.children = [_Entry(n, 2, d) for n, d in streams.items()] + (storages or [])
    return entry


def _compound_file(root: _Entry) -> bytes:
    """The bytes of a compound file whose root storage holds `root.children`."""
    entries: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entry.id = len(entries)
        entries.append(entry)
        for child in entry.children:
            number(child)

    root.kind, root.name = 5, "Root Entry"
    number(root)
    for entry in entries:  # siblings as a balanced binary tree in the specification's order (length, then case)
        ordered = sorted(entry.children, key=lambda e: (len(e.name), e.name.upper()))
        entry.child = _tree(ordered)
    # Small streams live in the mini stream (64-byte sectors), the rest in regular sectors.
    mini_stream = bytearray()
    mini_fat: list[int] = []
    big: list[_Entry] = []
    for entry in entries:
        if entry.kind != 2 or not entry.data:
            continue
        if len(entry.data) < _MINI_CUTOFF:
            entry.start = len(mini_stream) // _MINI_SECTOR
            count = -(-len(entry.data) // _MINI_SECTOR)
            mini_fat += [entry.start + i + 1 for i in range(count - 1)] + [_END]
            mini_stream += entry.data.ljust(count * _MINI_SECTOR, b"\0")
        else:
            big.append(entry)
    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes) -> int:
        if not data:
            return _END
        start = len(sectors)
        count = -(-len(data) // _SECTOR)
        for i in range(count):
            sectors.append(data[i * _SECTOR : (i + 1) * _SECTOR].ljust(_SECTOR, b"\0"))
            fat.append(start + i + 1 if i + 1 < count else _END)
        return start

    for entry in big:
        entry.start = place(entry.data)
    root.start = place(bytes(mini_stream))
    root.data = bytes(mini_stream)
    mini_fat_bytes = b"".join(struct.pack("<I", n) for n in mini_fat)
    mini_fat_start = place(mini_fat_bytes.ljust(-(-len(mini_fat_bytes) // _SECTOR) * _SECTOR, b"\xff"))
    mini_fat_sectors = -(-len(mini_fat_bytes) // _SECTOR)
    directory = b"".join(_directory_entry(e) for e in entries)
    directory_start = place(directory.ljust(-(-len(directory) // _SECTOR) * _SECTOR, b"\0"))
    fat_sectors = 1
    while (len(fat) + fat_sectors) > fat_sectors * (_SECTOR // 4):
        fat_sectors += 1
    assert fat_sectors <= 109, "a fixture this large needs DIFAT sectors"
    fat_start = len(sectors)
    fat += [_FAT_SECTOR] * fat_sectors
    fat += [_FREE] * (fat_sectors * (_SECTOR // 4) - len(fat))
    fat_bytes = b"".join(struct.pack("<I", n) for n in fat)
    sectors += [fat_bytes[i * _SECTOR : (i + 1) * _SECTOR] for i in range(fat_sectors)]
    difat = [fat_start + i for i in range(fat_sectors)] + [_FREE] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack(
            "<IIIIIIIII", 0, fat_sectors, directory_start, 0, _MINI_CUTOFF, mini_fat_start, mini_fat_sectors, _END, 0
        )
        + b"".join(struct.pack("<I", n) for n in difat)
    )
    assert len(header) == _SECTOR
    return header + b"".join(sectors)


def _tree(ordered: list[_Entry]) -> int:
    if not ordered:
        return _NO_STREAM
    middle = len(ordered) // 2
    node = ordered[middle]
    node.left = _tree(ordered[:middle])
    node.right = _tree(ordered[middle + 1 :])
    return node.id


def _directory_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le")
    size = len(entry.data) if entry.kind in (2, 5) else 0
    start = entry.start if entry.kind in (2, 5) and size else (_END if entry.kind != 1 else 0)
    return (
        name.ljust(64, b"\0")
        + struct.pack("<HBB", len(name) + 2, entry.kind, 1)
        + struct.pack("<III", entry.left, entry.right, entry.child)
        + b"\0" * 16
        + b"\0" * 4
        + b"\0" * 16
        + struct.pack("<IQ", start, size)
    )


def _filetime(moment: dt.datetime) -> int:
    return int((moment - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds() * 10_000_000)


class _Properties:
    """A property stream and the streams its variable-length properties live in."""

    def __init__(self) -> None:
        self.segments: list[bytes] = []
        self.streams: dict[str, bytes] = {}

    def string(self, pid: int, value: str) -> None:
        data = value.encode("utf-16-le") + b"\0\0"
        self.streams[f"__substg1.0_{pid:04X}{_STRING:04X}"] = data[:-2]
        self.segments.append(struct.pack("<HHIII", _STRING, pid, 6, len(data), 0))

    def binary(self, pid: int, value: bytes) -> None:
        self.streams[f"__substg1.0_{pid:04X}{_BINARY:04X}"] = value
        self.segments.append(struct.pack("<HHIII", _BINARY, pid, 6, len(value), 0))

    def int32(self, pid: int, value: int) -> None:
        self.segments.append(struct.pack("<HHIiI", _INT32, pid, 6, value, 0))

    def time(self, pid: int, moment: dt.datetime) -> None:
        self.segments.append(struct.pack("<HHIQ", _TIME, pid, 6, _filetime(moment)))

    def stream(self, header: bytes) -> dict[str, bytes]:
        return {"__properties_version1.0": header + b"".join(self.segments), **self.streams}


@dataclass(frozen=True)
class Recipient:
    name: str
    address: str
    kind: int = 1  # 1 To, 2 Cc


def outlook_message(
    *,
    subject: str,
    sender_name: str,
    sender_address: str,
    recipients: list[Recipient],
    body: str,
    sent: dt.datetime,
    attachments: list[tuple[str, bytes]] | None = None,
) -> bytes:
    """An IPM.Note as Outlook saves it: subject, sender, recipients, plain body, submit time, attachments by value."""
    attachments = attachments or []
    message = _Properties()
    message.string(0x001A, "IPM.Note")
    message.string(0x0037, subject)
    message.string(0x0C1A, sender_name)
    message.string(0x0C1F, sender_address)
    message.string(0x1000, body)
    message.time(0x0039, sent)  # PidTagClientSubmitTime
    storages: list[_Entry] = [
        _storage(
            "__nameid_version1.0",
            {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"", "__substg1.0_00040102": b""},
        )
    ]
    for index, recipient in enumerate(recipients):
        properties = _Properties()
        properties.int32(0x0C15, recipient.kind)
        properties.string(0x3001, recipient.name)
        properties.string(0x39FE, recipient.address)
        properties.string(0x3003, recipient.address)
        storages.append(_storage(f"__recip_version1.0_#{index:08X}", properties.stream(b"\0" * 8)))
    for index, (name, data) in enumerate(attachments):
        properties = _Properties()
        properties.int32(0x3705, 1)  # PidTagAttachMethod: by value
        properties.string(0x3707, name)
        properties.string(0x3704, name[:12])
        properties.binary(0x3701, data)
        storages.append(_storage(f"__attach_version1.0_#{index:08X}", properties.stream(b"\0" * 8)))
    header = struct.pack("<8xIIII8x", len(recipients), len(attachments), len(recipients), len(attachments))
    root = _storage("Root Entry", message.stream(header), storages)
    return _compound_file(root)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file with these streams in its root storage (an old Office file's shape, for the tests)."""
    return _compound_file(_storage("Root Entry", streams))
