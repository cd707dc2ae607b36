"""Search results kept in memory, each valid for exactly one index version of its organization.

A version only grows, and it grows in the same transaction as any change to the organization's chunks
(migration 0007): an entry stored under version v is served only while the organization is still at v, so
a deleted document or a newly indexed one is never hidden behind a kept result. Memory is bounded in bytes,
least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Result = TypeVar("Result")
# Bytes of an entry beyond its query, document ids and results: the key, the entry and the dictionary slot.
ENTRY_OVERHEAD = 400


@dataclass(frozen=True)
class ResultKey:
    """Everything a search's results depend on besides the index itself. The organization comes from the
    caller's token, so one organization's entries can never answer another's searches."""

    organization_id: str
    model: str
    mode: str
    query: str
    limit: int
    document_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Entry(Generic[Result]):
    version: int
    results: tuple[Result, ...]
    size: int


class ResultCache(Generic[Result]):
    def __init__(self, *, max_bytes: int, size_of: Callable[[Result], int]) -> None:
        """`size_of` estimates one result's bytes; every entry also counts its key. `max_bytes` 0 keeps nothing."""
        self._max_bytes = max_bytes
        self._size_of = size_of
        self._entries: OrderedDict[ResultKey, _Entry[Result]] = OrderedDict()
        self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def kept_version(self, key: ResultKey) -> int | None:
        """The version `key`'s results were kept at, or None when none are kept."""
        entry = self._entries.get(key)
        return None if entry is None else entry.version

    def get(self, key: ResultKey, version: int) -> tuple[Result, ...] | None:
        """The results stored for `key` at `version`, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.version != version:
            if entry.version < version:
                self._drop(key)  # stale for good: versions only grow
            return None  # newer than what this search read: another search may still use it
        self._entries.move_to_end(key)
        return entry.results

    def put(self, key: ResultKey, version: int, results: Sequence[Result]) -> None:
        """Keep `results`, computed from what was read after the organization's version was `version`."""
        # The key counts too: a search that found nothing is an entry all the same.
        size = ENTRY_OVERHEAD + len(key.query) + 40 * len(key.document_ids)
        size += sum(self._size_of(result) for result in results)
        if size > self._max_bytes:
            return
        kept = self._entries.get(key)
        if kept is not None:
            if kept.version > version:
                return  # a search that started later already kept newer results
            self._drop(key)
        self._entries[key] = _Entry(version, tuple(results), size)
        self._bytes += size
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def drop_organization(self, organization_id: str) -> int:
        """Forget every result of an organization (it was erased); returns how many entries went."""
        keys = [key for key in self._entries if key.organization_id == organization_id]
        for key in keys:
            self._drop(key)
        return len(keys)

    def _drop(self, key: ResultKey) -> None:
        self._bytes -= self._entries.pop(key).size
