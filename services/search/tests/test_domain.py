"""Snippets, input rules, the query encoder and the result cache, without I/O."""

from __future__ import annotations

import asyncio
import gc
import re
import uuid

import pytest

from services.common.artifact import BadArtifact
from services.common.errors import InvalidInput
from services.search.domain import (
    allows_fuzzy,
    check_document_ids,
    check_limit,
    check_query,
    embedding_input,
    is_plain_query,
    make_snippet,
    parse_artifact,
    query_terms,
    stem,
)
from services.search.embeddings import QueryEncoder
from services.search.handlers import Hit
from services.search.result_cache import ENTRY_OVERHEAD, ResultCache, ResultKey


def test_a_query_is_trimmed_and_must_say_something() -> None:
    assert check_query("  vendor \n contract\t", max_chars=1000) == "vendor contract"
    for empty in ("", "   ", "\n\t", "\x00"):
        with pytest.raises(InvalidInput):
            check_query(empty, max_chars=1000)


def test_a_query_over_the_limit_is_refused() -> None:
    assert check_query("x" * 1000, max_chars=1000)
    with pytest.raises(InvalidInput, match="at most 1000"):
        check_query("x" * 1001, max_chars=1000)
    with pytest.raises(InvalidInput):
        check_query("x" * 10_240, max_chars=1000)


def test_limit_must_be_positive_and_is_capped() -> None:
    assert check_limit(10, maximum=100) == 10
    assert check_limit(10_000, maximum=100) == 100
    for bad in (0, -1):
        with pytest.raises(InvalidInput):
            check_limit(bad, maximum=100)


def test_document_ids_must_be_uuids() -> None:
    one = str(uuid.uuid4())
    assert check_document_ids([one.upper(), one]) == [one]
    for bad in (["not-an-id"], ["' OR 1=1 --"], [""], [one, "1"]):
        with pytest.raises(InvalidInput):
            check_document_ids(bad)


def test_an_artifact_becomes_ordered_chunks() -> None:
    chunks = parse_artifact(
        {
            "text": "...",
            "page_count": 2,
            "chunks": [
                {"index": 1, "text": "second", "start": 7, "end": 13, "page": 2, "heading": None},
                {"index": 0, "text": "first", "start": 0, "end": 5, "page": 1, "heading": "Risks"},
                {"index": 2, "text": "   ", "start": 14, "end": 17, "page": 2, "heading": ""},
            ],
        }
    )
    assert [c.index for c in chunks] == [0, 1]  # blank chunks carry nothing to find
    assert embedding_input(chunks[0]) == "Risks\nfirst"
    assert embedding_input(chunks[1]) == "second" and chunks[1].page == 2


@pytest.mark.parametrize(
    "artifact",
    [
        None,
        {"text": "no chunks"},
        {"chunks": [{"index": "0", "text": "x", "start": 0, "end": 1}]},
        {"chunks": [{"index": 0, "start": 0, "end": 1}]},
        {"chunks": [{"index": 0, "text": "a", "start": 0, "end": 1}, {"index": 0, "text": "b", "start": 1, "end": 2}]},
    ],
)
def test_a_malformed_artifact_is_refused(artifact: object) -> None:
    with pytest.raises(BadArtifact):
        parse_artifact(artifact)


def test_stemming_joins_word_forms() -> None:
    assert stem("delayed") == stem("delays") == stem("delay") == "delay"
    assert stem("budgets") == "budget" and stem("is") == "is"


def test_query_terms_drop_operators_stopwords_and_keep_identifiers() -> None:
    assert query_terms('"Q1 2024" or -the vendor') == ["q1", "2024", "vendor"]
    assert query_terms("JIRA-1234 status") == ["jira-1234", "status"]
    assert query_terms("'); DROP TABLE x; --") == ["drop", "table", "x"]
    assert query_terms("Überprüfung 😀") == ["überprüfung"]


def test_a_plain_query_may_match_partly_but_websearch_syntax_is_exact() -> None:
    assert is_plain_query("vendor contract delayed")
    assert not is_plain_query("vendor")
    assert not is_plain_query('"vendor contract"')
    assert not is_plain_query("vendor -contract")


def test_only_a_query_typed_loosely_may_be_taken_for_a_misspelling() -> None:
    assert allows_fuzzy("quartely budgett") and allows_fuzzy("vendr")
    assert not allows_fuzzy('"vendr contract"')
    assert not allows_fuzzy("vendor -contrct")
    assert not allows_fuzzy("JIRA-4712") and not allows_fuzzy("Q1 2025")


def test_a_snippet_marks_the_query_words() -> None:
    text = "The vendor contract renewal is delayed because legal has not signed off yet."
    snippet = make_snippet(text, query_terms("vendor contracts delay"))
    assert snippet == (
        "The <mark>vendor</mark> <mark>contract</mark> renewal is <mark>delayed</mark> because legal has not signed "
        "off yet."
    )


def test_a_snippet_marks_identifiers_whole_and_escapes_html() -> None:
    text = "Ticket JIRA-4711 <script>alert(1)</script> tracks the failover & test."
    snippet = make_snippet(text, query_terms("JIRA-4711"))
    assert "<mark>JIRA-4711</mark>" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet and "&amp;" in snippet


def test_a_snippet_marks_only_the_identifier_asked_for_but_a_word_inside_compounds() -> None:
    text = "JIRA-1234 waits on JIRA-9876 and JIRA-12345; see OPS-7/JIRA-1234 on the budget-related board."
    marked = re.findall(r"<mark>(.*?)</mark>", make_snippet(text, query_terms("JIRA-1234")))
    assert marked == ["JIRA-1234", "OPS-7/JIRA-1234"]
    marked = re.findall(r"<mark>(.*?)</mark>", make_snippet(text, query_terms("jira budget")))
    assert marked == ["JIRA-1234", "JIRA-9876", "JIRA-12345", "OPS-7/JIRA-1234", "budget-related"]


def test_a_snippet_centres_on_the_densest_window_of_a_long_chunk() -> None:
    filler = "Nothing to see here at all. " * 40
    text = filler + "The budget overrun risk is high. " + filler
    snippet = make_snippet(text, query_terms("budget overrun"), max_chars=120)
    assert "<mark>budget</mark> <mark>overrun</mark>" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) <= 125


def test_a_snippet_without_matches_is_the_chunk_start() -> None:
    text = "word " * 100
    snippet = make_snippet(text, ["absent"], max_chars=50)
    assert "<mark>" not in snippet and snippet.startswith("word") and snippet.endswith("…")


class CountingEmbedder:
    model_name = "fake"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def embed(self, texts: list[str]) -> list[list[float]]:
        raise AssertionError("queries are embedded as queries")

    async def embed_queries(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(texts)
        await asyncio.sleep(0.01)
        return [[float(len(t))] for t in texts]


async def test_concurrent_queries_share_one_forward_pass_and_repeats_hit_the_cache() -> None:
    fake = CountingEmbedder()
    encoder = QueryEncoder(fake, cache_size=2)
    vectors = await asyncio.gather(*(encoder.encode(q) for q in ["a", "bb", "ccc", "bb"]))
    assert vectors == [(1.0,), (2.0,), (3.0,), (2.0,)]
    assert len(fake.calls) <= 2 and sum(len(c) for c in fake.calls) == 3
    calls = len(fake.calls)
    assert await encoder.encode("ccc") == (3.0,)
    assert len(fake.calls) == calls
    assert await encoder.encode("a") == (1.0,)  # evicted (cache of two), embedded again
    assert len(fake.calls) == calls + 1


async def test_an_embedding_failure_reaches_every_waiting_query() -> None:
    class Broken:
        model_name = "broken"

        async def embed(self, texts: list[str]) -> list[list[float]]:
            raise RuntimeError("model unavailable")

        async def embed_queries(self, texts: list[str]) -> list[list[float]]:
            raise RuntimeError("model unavailable")

    encoder = QueryEncoder(Broken())
    results = await asyncio.gather(encoder.encode("a"), encoder.encode("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


def _key(query: str, organization_id: str = "org-a") -> ResultKey:
    return ResultKey(organization_id, "model", "HYBRID", query, 10, ())


ENTRY = ENTRY_OVERHEAD + 1  # an entry for a one-letter query, before its results


def test_kept_results_serve_only_their_own_index_version() -> None:
    cache: ResultCache[str] = ResultCache(max_bytes=10_000, size_of=len)
    cache.put(_key("q"), 3, ["abc"])
    assert cache.get(_key("q"), 3) == ("abc",)
    assert cache.get(_key("q", "org-b"), 3) is None
    assert cache.get(_key("q"), 2) is None  # a search that read an older version: not served, still kept
    assert cache.get(_key("q"), 3) == ("abc",)
    assert cache.get(_key("q"), 4) is None  # the index changed: the entry is gone for good
    assert cache.get(_key("q"), 3) is None
    assert cache.bytes == 0


def test_older_results_never_replace_newer_ones() -> None:
    cache: ResultCache[str] = ResultCache(max_bytes=10_000, size_of=len)
    cache.put(_key("q"), 5, ["new"])
    cache.put(_key("q"), 4, ["old"])  # a slower search that read the version before the change
    assert cache.get(_key("q"), 5) == ("new",)


def test_kept_results_stay_within_their_byte_budget_least_recently_used_out() -> None:
    cache: ResultCache[str] = ResultCache(max_bytes=2 * ENTRY + 10, size_of=len)
    cache.put(_key("a"), 1, ["aaaa"])
    cache.put(_key("b"), 1, ["bbbb"])
    assert cache.get(_key("a"), 1) == ("aaaa",)  # now b is the least recently used
    cache.put(_key("c"), 1, ["cccc"])
    assert cache.get(_key("b"), 1) is None
    assert cache.get(_key("a"), 1) == ("aaaa",) and cache.get(_key("c"), 1) == ("cccc",)
    cache.put(_key("d"), 1, ["x" * (ENTRY + 11)])  # larger than the whole budget: not kept, nothing evicted
    assert cache.get(_key("d"), 1) is None and cache.bytes == 2 * (ENTRY + 4)


def test_searches_that_found_nothing_count_against_the_budget_too() -> None:
    cache: ResultCache[str] = ResultCache(max_bytes=100 * ENTRY, size_of=len)
    for n in range(10_000):
        cache.put(_key(f"{n:05d}"), 1, [])
    assert cache.get(_key("00000"), 1) is None  # evicted long ago: empty results are not free
    assert cache.get(_key("09999"), 1) == ()
    assert cache.bytes <= 100 * ENTRY + 400
    off: ResultCache[str] = ResultCache(max_bytes=0, size_of=len)
    off.put(_key("q"), 1, [])
    assert off.get(_key("q"), 1) is None and off.bytes == 0


async def test_kept_query_vectors_and_hits_are_not_walked_by_the_garbage_collector() -> None:
    # Every full collection walks each tracked object while no search is answered; thousands kept would
    # make it a pause of tens of milliseconds for every search in flight.
    vector = await QueryEncoder(CountingEmbedder()).encode("a")
    row = Hit("d", 0, None, "<mark>a</mark>", 0.5, 1, None, "a", 0, 1).as_row()
    assert Hit(*row) == Hit("d", 0, None, "<mark>a</mark>", 0.5, 1, None, "a", 0, 1)
    gc.collect()
    assert not gc.is_tracked(vector) and not gc.is_tracked(row)


def test_an_erased_organizations_kept_results_are_dropped_and_others_stay() -> None:
    # Erasing deletes the organization's index version too: a search of a new organization reusing nothing
    # would start at 1 again, so kept results at version 1 must not survive the erasure.
    cache: ResultCache[str] = ResultCache(max_bytes=10_000, size_of=len)
    cache.put(_key("q"), 1, ["erased"])
    cache.put(_key("r"), 1, ["erased too"])
    cache.put(_key("q", "org-b"), 1, ["kept"])
    assert cache.drop_organization("org-a") == 2
    assert cache.get(_key("q"), 1) is None and cache.get(_key("r"), 1) is None
    assert cache.get(_key("q", "org-b"), 1) == ("kept",)
    assert cache.bytes == ENTRY + len("kept")
