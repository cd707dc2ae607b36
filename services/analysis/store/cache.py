"""Cached model replies: the same content, task, model and prompt version get the same answer at no second cost."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import text

from services.analysis.schemas import PROMPT_VERSION
from services.common.db import TenantRepository


def cache_key(text: str, task: str, model: str) -> str:
    """Normalized content + task + model + prompt version: same content, same answer, no second cost."""
    normalized = " ".join(text.split()).lower()
    return hashlib.sha256(f"{PROMPT_VERSION}\0{task}\0{model}\0{normalized}".encode()).hexdigest()


class OutputCache(TenantRepository):
    async def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Cached replies for several keys at once (every planned model, or the parts of a long document)."""
        rows = await self.session.execute(
            text(
                "SELECT key, output, input_tokens, output_tokens FROM analysis.cache "
                "WHERE organization_id = :org AND key = ANY(CAST(:keys AS text[]))"
            ),
            {"org": self.organization_id, "keys": keys},
        )
        return {
            r.key: {"output": r.output, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens} for r in rows
        }

    async def put(
        self,
        key: str,
        *,
        output: dict[str, Any],
        input_tokens: int,
        output_tokens: int,
        document_id: str | None = None,
    ) -> None:
        await self.session.execute(
            text(
                "INSERT INTO analysis.cache (organization_id, key, output, input_tokens, output_tokens, document_id) "
                "VALUES (:org, :key, CAST(:output AS jsonb), :i, :o, :doc) ON CONFLICT DO NOTHING"
            ),
            {
                "org": self.organization_id,
                "key": key,
                "output": json.dumps(output),
                "i": input_tokens,
                "o": output_tokens,
                "doc": document_id,
            },
        )

    async def forget_document(self, document_id: str) -> None:
        """Drop the replies cached for a deleted document's text."""
        await self.session.execute(
            text("DELETE FROM analysis.cache WHERE organization_id = :org AND document_id = :doc"),
            {"org": self.organization_id, "doc": document_id},
        )
