"""BM25 word ranking (migration 0009): scores as computed by hand for a tiny corpus, term statistics that stay
exact through indexing, re-indexing, deletion, edits by hand and concurrent writers, and that belong to one
organization only."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

import asyncpg
import pytest

from services.search.tests.conftest import Platform, Tenant
from tests.support.database import tenant_connection

K1, B = 1.2, 0.75  # SearchSettings' defaults
INSERT_CHUNK = (
    "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, start_offset, end_offset, "
    "text, model, embedding) VALUES ($1, $2, 1, $3, 0, 0, $4, $5, array_fill(0.1, ARRAY[384])::vector)"
)
PREVIOUS_DOCUMENT_GOES = (
    "DELETE FROM search.chunks WHERE document_id IN (SELECT document_id FROM search.chunks WHERE model = $1 LIMIT 1)"
)


def bm25(query: dict[str, float], chunk: list[str], corpus: list[list[str]]) -> float:
    """Textbook BM25 (Lucene's idf) of `chunk` for words weighted `query`; every text given as its counted words."""
    mean_length = sum(len(c) for c in corpus) / len(corpus)
    score = 0.0
    for word, weight in query.items():
        frequency = chunk.count(word)
        if not frequency:
            continue
        containing = sum(word in c for c in corpus)
        idf = math.log(1 + (len(corpus) - containing + 0.5) / (containing + 0.5))
        score += weight * idf * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * len(chunk) / mean_length))
    return score


def with_feedback(words: list[str], corpus: dict[str, list[str]]) -> dict[str, float]:
    """What a plain query scores, by hand: BM25 of its words, then RM3 (the words the 10 best matches use most,
    each match counting by its score, join the query at half the weight) and BM25 again of the same matches."""
    query = {w: float(words.count(w)) for w in words}
    chunks = list(corpus.values())
    first = {text: bm25(query, counted, chunks) for text, counted in corpus.items()}
    matches = sorted((t for t in first if first[t] > 0), key=lambda t: -first[t])
    total = sum(first[t] for t in matches[:10])
    relevance: dict[str, float] = {}
    for text in matches[:10]:
        for word in set(corpus[text]):
            share = corpus[text].count(word) / len(corpus[text])
            relevance[word] = relevance.get(word, 0.0) + first[text] / total * share
    expansion = dict(sorted(relevance.items(), key=lambda item: (-item[1], item[0]))[:10])
    expanded = {w: 0.5 * n / sum(query.values()) for w, n in query.items()}
    for word, value in expansion.items():
        expanded[word] = expanded.get(word, 0.0) + 0.5 * value / sum(expansion.values())
    return {text: bm25(expanded, corpus[text], chunks) for text in matches}


@pytest.fixture
def tenant(org_factory: Any) -> Tenant:
    org = org_factory()
    return Tenant(org.id, org.admin.token)


async def keyword_scores(platform: Platform, tenant: Tenant, query: str) -> dict[str, float]:
    return {h.text: h.score for h in await platform.search(tenant, query, "KEYWORD", limit=100)}


async def term_statistics(platform: Platform, organization_id: str) -> tuple[Any, Any]:
    """What the triggers keep, and the same computed again from the chunks as they are now."""
    async with tenant_connection(platform.deployment.database_urls["search"], organization_id) as conn:
        kept = (
            sorted(
                tuple(r)
                for r in await conn.fetch("SELECT lexeme, chunk_id, frequency, chunk_length FROM search.chunk_terms")
            ),
            tuple(await conn.fetchrow("SELECT chunks, words FROM search.term_totals") or (0, 0)),
        )
        recomputed = (
            sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT w.lexeme, c.id, w.frequency, sum(w.frequency) OVER (PARTITION BY c.id) "
                    "FROM search.chunks AS c CROSS JOIN LATERAL search.chunk_words(c.tsv) AS w"
                )
            ),
            tuple(
                await conn.fetchrow(
                    "SELECT count(*), coalesce(sum((SELECT sum(w.frequency) FROM search.chunk_words(c.tsv) AS w)), 0) "
                    "FROM search.chunks AS c"
                )
            ),
        )
    return kept, recomputed


async def test_bm25_scores_are_the_ones_computed_by_hand_through_index_reindex_and_delete(
    platform: Platform, tenant: Tenant, org_factory: Any
) -> None:
    # Counted words as Postgres' English configuration sees them: stemmed, stopwords ("of", "the") left out.
    texts = {
        "Budget risk: the budget.": ["budget", "risk", "budget"],
        "Risk of delay.": ["risk", "delay"],
        "Schedule.": ["schedul"],
    }
    review = {"Budget review.": ["budget", "review"]}
    plan = await platform.extracted(tenant.id, [(None, t) for t in texts])
    other = await platform.extracted(tenant.id, [(None, t) for t in review])
    for doc in (plan, other):
        await platform.until_indexed(doc)

    def expected(corpus: dict[str, list[str]], query: list[str]) -> dict[str, float]:
        return with_feedback(query, corpus)

    found = await keyword_scores(platform, tenant, "budget risk")
    assert found == pytest.approx(expected(texts | review, ["budget", "risk"]))
    assert next(iter(found)) == "Budget risk: the budget."  # both words, one of them twice
    # One word is taken exactly as asked: no feedback, BM25 alone.
    corpus = [*texts.values(), *review.values()]
    assert await keyword_scores(platform, tenant, "budget") == pytest.approx(
        {t: bm25({"budget": 1.0}, w, corpus) for t, w in (texts | review).items() if "budget" in w}
    )

    # Another organization's documents change nothing here: its words are counted for it alone.
    theirs = org_factory()
    crowd = await platform.extracted(theirs.id, [(None, f"Budget budget risk note {n}.") for n in range(20)])
    await platform.until_indexed(crowd)
    assert await keyword_scores(platform, tenant, "budget risk") == pytest.approx(found)

    # Re-indexed (a new generation): the old chunks' words go, the new ones count.
    changed = {"Risk register.": ["risk", "regist"], "Delay budget.": ["delay", "budget"]}
    await platform.extracted(tenant.id, [(None, t) for t in changed], doc=plan, generation=2)
    await platform.until_indexed(plan, 2)
    assert await keyword_scores(platform, tenant, "budget risk") == pytest.approx(
        expected(changed | review, ["budget", "risk"])
    )

    # Deleted: its words leave the statistics with it.
    await platform.deleted(tenant.id, other)
    for _ in range(150):
        if "Budget review." not in await keyword_scores(platform, tenant, "budget"):
            break
        await asyncio.sleep(0.2)
    assert await keyword_scores(platform, tenant, "budget risk") == pytest.approx(expected(changed, ["budget", "risk"]))
    kept, recomputed = await term_statistics(platform, tenant.id)
    assert kept == recomputed and kept[1] == (2, 4)


async def test_a_hyphenated_compound_counts_through_its_words_and_an_identifier_still_matches_whole(
    platform: Platform, tenant: Tenant
) -> None:
    doc = await platform.extracted(
        tenant.id, [(None, "Heat-transfer tests for ticket OPS-42."), (None, "Heat tests for ticket OPS-43.")]
    )
    await platform.until_indexed(doc)
    kept, _ = await term_statistics(platform, tenant.id)
    words = {lexeme for lexeme, *_ in kept[0]}
    # Postgres reads "OPS-42" as the word "ops" and the number -42; "heat-transfer" as heat-transf (the compound,
    # not counted: its parts are), heat and transfer.
    assert {"heat", "transfer", "op", "-42", "-43"} <= words and "heat-transf" not in words
    # The identifier matches as written, not through its parts ("ops" is in both chunks), and ranks by them.
    hits = await platform.search(tenant, "OPS-42", "KEYWORD")
    assert [h.text for h in hits] == ["Heat-transfer tests for ticket OPS-42."]


async def test_edits_by_hand_and_concurrent_writers_leave_the_statistics_exact(
    platform: Platform, tenant: Tenant
) -> None:
    url = platform.deployment.database_urls["search"]
    words = ["budget", "risk", "delay", "vendor", "cutover", "training", "outage", "masking"]

    async def writer(n: int) -> None:
        # Each writer indexes and replaces documents of the same organization as the others, at the same time:
        # the words they share are counted by all of them.
        conn = await asyncpg.connect(url)
        try:
            for round_ in range(4):
                doc = uuid.uuid4()
                rows = [
                    (
                        tenant.id,
                        doc,
                        i,
                        " ".join(words[(n + round_ + i + k) % len(words)] for k in range(3 + i)),
                        f"w{n}",
                    )
                    for i in range(3)
                ]
                async with conn.transaction():
                    await conn.execute("SELECT set_config('app.current_org_id', $1, true)", tenant.id)
                    await conn.execute(PREVIOUS_DOCUMENT_GOES, f"w{n}")
                    await conn.executemany(INSERT_CHUNK, rows)
        finally:
            await conn.close()

    await asyncio.gather(*(writer(n) for n in range(8)))
    kept, recomputed = await term_statistics(platform, tenant.id)
    assert kept == recomputed and kept[1][0] == 8 * 3  # each writer's last document remains

    # An edit by hand (not through the service) is counted too; re-embedding alone changes no word.
    async with tenant_connection(url, tenant.id) as conn:
        await conn.execute("UPDATE search.chunks SET text = text || ' extra outage words' WHERE chunk_index = 0")
        await conn.execute("UPDATE search.chunks SET model = 'other/model'")
    kept, recomputed = await term_statistics(platform, tenant.id)
    assert kept == recomputed
    assert sum(lexeme == "extra" for lexeme, *_ in kept[0]) == 8  # each writer's first chunk
