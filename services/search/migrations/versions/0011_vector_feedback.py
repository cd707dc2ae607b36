"""Feedback for the query's vector in a HYBRID search, as RM3 already is for its words.

Revision ID: 0011
Revises: 0010

`search.search` (0009) fuses two candidate lists, each chunk scored by its cosine to the query's vector and by
the BM25 of its words. Words already get pseudo-relevance feedback (RM3): the best matches' words join the
query. The vector now gets its own (Rocchio's, as Li et al., "Pseudo Relevance Feedback with Deep Language
Models and Dense Retrievers: Successes and Pitfalls", 2021, applied it to dense retrieval): after a first
fusion, the query's vector plus the mean vector of the 3 best fused chunks becomes the vector every candidate's
cosine is taken against, and the candidates are fused again. The candidates themselves do not change, so a
search still reads the index once per side. Measured on Cranfield with bench/search_quality.py (HYBRID nDCG@10
before and after in its results). Only SEMANTIC and KEYWORD alone are as they were.

This migration holds the whole function as it now is; 0009's text is the previous version.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEARCH = """
CREATE OR REPLACE FUNCTION search.search(
    p_organization_id uuid,
    p_vector vector,
    p_model text,
    p_query text,
    p_loose boolean,
    p_fuzzy boolean,
    p_document_ids uuid[],
    p_depth integer,
    p_limit integer,
    p_keyword_ids bigint[],
    p_keyword_scores double precision[],
    p_k1 double precision,
    p_b double precision
) RETURNS TABLE (
    version bigint, id bigint, document_id uuid, chunk_index integer, page integer, start_offset integer,
    end_offset integer, heading text, text text, score double precision, semantic_rank integer,
    keyword_rank integer
)
LANGUAGE plpgsql
AS $$
DECLARE
    semantic_ids bigint[] := '{}';
    semantic_scores double precision[] := '{}';
    keyword_ids bigint[] := '{}';
    keyword_scores double precision[] := '{}';
    matched bigint[];
    every_word tsquery;
    words text[];
    counts integer[];
    chunk_count double precision;
    mean_length double precision;
    by_words boolean := p_query IS NOT NULL OR p_keyword_ids IS NOT NULL;
    semantic_listed integer;
    keyword_listed integer;
    other_ids bigint[];
    other_scores double precision[];
    fused_ids bigint[];
    feedback_vector vector;
    fusion_pass integer;
    fused_scores double precision[];
    semantic_ranks integer[];
    keyword_ranks integer[];
    expanded_words text[];
    expanded_weights double precision[];
BEGIN
    -- Row-level security reads this; local to the caller's transaction (in autocommit, this statement).
    PERFORM set_config('app.current_org_id', p_organization_id::text, true);
    -- First, so the results reflect this version or a newer one (what the caller keeps them under).
    version := coalesce(
        (SELECT v.version FROM search.index_versions AS v WHERE v.organization_id = p_organization_id), 0);
    RETURN NEXT;  -- the version alone: id NULL

    IF p_vector IS NOT NULL THEN
        SELECT coalesce(array_agg(n.id ORDER BY n.distance, n.id), '{}'),
               coalesce(array_agg(1 - n.exact ORDER BY n.distance, n.id), '{}')
        INTO semantic_ids, semantic_scores
        FROM (
            SELECT c.id, c.embedding::halfvec(384) <=> p_vector::halfvec(384) AS distance,
                c.embedding <=> p_vector AS exact
            FROM search.chunks AS c
            WHERE c.organization_id = p_organization_id AND c.model = p_model
                AND (p_document_ids IS NULL OR c.document_id = ANY(p_document_ids))
            ORDER BY distance LIMIT p_depth
        ) AS n;
    END IF;

    IF p_keyword_ids IS NOT NULL THEN
        keyword_ids := p_keyword_ids;
        keyword_scores := p_keyword_scores;
    ELSIF p_query IS NOT NULL THEN
        SELECT coalesce(array_agg(w.lexeme ORDER BY w.lexeme), '{}'),
               coalesce(array_agg(w.frequency ORDER BY w.lexeme), '{}')
        INTO words, counts
        FROM search.chunk_words(setweight(to_tsvector('english', p_query), 'B')) AS w;
        SELECT t.chunks, t.words::double precision / greatest(t.chunks, 1) INTO chunk_count, mean_length
        FROM search.term_totals AS t WHERE t.organization_id = p_organization_id;
        IF NOT (p_loose AND cardinality(words) > 0) THEN
            -- Exactly what was asked: every word, a quoted phrase, no excluded word (stemmed, or as written).
            SELECT CASE WHEN s = e THEN s ELSE s || e END INTO every_word
            FROM websearch_to_tsquery('english', p_query) AS s, websearch_to_tsquery('simple', p_query) AS e;
            IF numnode(every_word) > 0 THEN
                matched := ARRAY(
                    SELECT c.id FROM search.chunks AS c
                    WHERE c.organization_id = p_organization_id AND c.tsv @@ every_word
                        AND (p_document_ids IS NULL OR c.document_id = ANY(p_document_ids)));
            ELSE
                matched := '{}';
            END IF;
        END IF;
        -- One pass over the words' postings: the best `p_depth` matches, and the scores of the semantic
        -- candidates among the rest (for the fusion below).
        SELECT coalesce(array_agg(r.chunk_id ORDER BY r.rank) FILTER (WHERE r.rank <= p_depth), '{}'),
               coalesce(array_agg(r.score ORDER BY r.rank) FILTER (WHERE r.rank <= p_depth), '{}'),
               coalesce(array_agg(r.chunk_id) FILTER (WHERE r.rank > p_depth), '{}'),
               coalesce(array_agg(r.score) FILTER (WHERE r.rank > p_depth), '{}')
        INTO keyword_ids, keyword_scores, other_ids, other_scores
        FROM (
            SELECT s.chunk_id, s.score, row_number() OVER (ORDER BY s.score DESC, s.chunk_id) AS rank
            FROM search.bm25(p_organization_id, words, counts, matched, p_document_ids, chunk_count, mean_length,
                p_k1, p_b) AS s
        ) AS r
        WHERE r.rank <= p_depth OR r.chunk_id = ANY(semantic_ids);
        -- Nothing matched: perhaps a misspelling, which matches no lexeme; word similarity still finds it.
        IF cardinality(keyword_ids) = 0 AND p_fuzzy AND length(p_query) >= 4 THEN
            SELECT coalesce(array_agg(f.id ORDER BY f.distance, f.id), '{}'),
                   coalesce(array_agg(1 - f.distance ORDER BY f.distance, f.id), '{}')
            INTO keyword_ids, keyword_scores
            FROM (
                SELECT c.id, p_query <<-> c.text AS distance FROM search.chunks AS c
                WHERE c.organization_id = p_organization_id AND p_query <% c.text
                    AND (p_document_ids IS NULL OR c.document_id = ANY(p_document_ids))
                ORDER BY distance, c.id LIMIT p_depth
            ) AS f;
            other_ids := '{}';  -- no chunk has the words: the semantic candidates' count for nothing
            other_scores := '{}';
        ELSIF matched IS NULL AND cardinality(keyword_ids) > 0 THEN
            -- Pseudo-relevance feedback for a plain query (RM3: Lavrenko and Croft's relevance model, with the
            -- customary 10 documents, 10 words and half the weight for the query's own words): the words the
            -- 10 best matches use most, each chunk counting by how well it matched, join the query, and every
            -- candidate is scored again. Only chunks with the query's own words are candidates, so none comes
            -- in by feedback words alone.
            WITH feedback AS (
                SELECT f.id, f.score / sum(f.score) OVER () AS weight
                FROM unnest(keyword_ids[1:10], keyword_scores[1:10]) AS f(id, score)
            ), used AS (
                SELECT fb.weight, w.lexeme,
                    w.frequency::double precision / sum(w.frequency) OVER (PARTITION BY c.id) AS share
                FROM feedback AS fb
                JOIN search.chunks AS c
                    ON c.organization_id = p_organization_id AND c.id = ANY(keyword_ids[1:10]) AND c.id = fb.id
                CROSS JOIN LATERAL search.chunk_words(c.tsv) AS w
            ), expansion AS (
                SELECT u.lexeme, sum(u.weight * u.share) AS relevance FROM used AS u
                GROUP BY u.lexeme ORDER BY relevance DESC, u.lexeme LIMIT 10
            ), weighted AS (
                SELECT q.lexeme, 0.5 * q.count / sum(q.count) OVER () AS weight
                FROM unnest(words, counts) AS q(lexeme, count)
                UNION ALL
                SELECT e.lexeme, 0.5 * e.relevance / sum(e.relevance) OVER () FROM expansion AS e
            )
            SELECT array_agg(x.lexeme ORDER BY x.lexeme), array_agg(x.weight ORDER BY x.lexeme)
            INTO expanded_words, expanded_weights
            FROM (SELECT w.lexeme, sum(w.weight) AS weight FROM weighted AS w GROUP BY w.lexeme) AS x;
            WITH candidate AS (
                SELECT k.id, true AS listed FROM unnest(keyword_ids) AS k(id)
                UNION ALL
                SELECT o.id, false FROM unnest(other_ids) AS o(id)
            ), rescored AS (
                SELECT c.id, c.listed, coalesce(s.score, 0) AS score
                FROM candidate AS c
                LEFT JOIN search.bm25_of(p_organization_id, expanded_words, expanded_weights,
                    keyword_ids || other_ids, chunk_count, mean_length, p_k1, p_b) AS s ON s.chunk_id = c.id
            )
            SELECT coalesce(array_agg(r.id ORDER BY r.score DESC, r.id) FILTER (WHERE r.listed), '{}'),
                   coalesce(array_agg(r.score ORDER BY r.score DESC, r.id) FILTER (WHERE r.listed), '{}'),
                   coalesce(array_agg(r.id) FILTER (WHERE NOT r.listed), '{}'),
                   coalesce(array_agg(r.score) FILTER (WHERE NOT r.listed), '{}')
            INTO keyword_ids, keyword_scores, other_ids, other_scores
            FROM rescored AS r;
        END IF;
    END IF;

    semantic_listed := cardinality(semantic_ids);
    keyword_listed := cardinality(keyword_ids);
    -- The side that did not list a candidate still scores it: the BM25 found above (0 when a chunk does not
    -- match the query's words), and its cosine, looked up by id (`= ANY`: an index scan under row-level
    -- security too).
    keyword_ids := keyword_ids || coalesce(other_ids, '{}');
    keyword_scores := keyword_scores || coalesce(other_scores, '{}');
    IF p_vector IS NOT NULL AND by_words THEN
        SELECT coalesce(array_agg(x.id), '{}'), coalesce(array_agg(1 - (x.embedding <=> p_vector)), '{}')
        INTO other_ids, other_scores
        FROM search.chunks AS x
        WHERE x.organization_id = p_organization_id AND x.id = ANY(keyword_ids) AND NOT (x.id = ANY(semantic_ids))
            AND x.model = p_model;
        semantic_ids := semantic_ids || other_ids;
        semantic_scores := semantic_scores || other_scores;
    END IF;

    -- Feedback for the vector, as RM3 is for words (Rocchio's, as Li et al. 2021 applied it to dense retrieval):
    -- the query's vector plus the mean vector of the 3 chunks the first fusion ranks best (the number of feedback
    -- documents Li et al. found best), and every candidate's cosine taken again against it; the candidates stay
    -- those found above, and each side's rank stays its first list's.
    FOR fusion_pass IN 1..2 LOOP
        SELECT coalesce(array_agg(f.id ORDER BY f.score DESC NULLS LAST, f.id), '{}'),
               coalesce(array_agg(f.score ORDER BY f.score DESC NULLS LAST, f.id), '{}'),
               coalesce(array_agg(f.semantic_rank ORDER BY f.score DESC NULLS LAST, f.id), '{}'),
               coalesce(array_agg(f.keyword_rank ORDER BY f.score DESC NULLS LAST, f.id), '{}')
        INTO fused_ids, fused_scores, semantic_ranks, keyword_ranks
        FROM (
            WITH semantic AS (
                SELECT s.id, s.score, s.rank::integer AS rank
                FROM unnest(semantic_ids, semantic_scores) WITH ORDINALITY AS s(id, score, rank)
            ), keyword AS (
                SELECT k.id, k.score, k.rank::integer AS rank
                FROM unnest(keyword_ids, keyword_scores) WITH ORDINALITY AS k(id, score, rank)
            ), candidate AS (
                -- Ranks are positions in each side's own list: `p_depth` long, whatever was scored after.
                SELECT coalesce(s.id, k.id) AS id, s.score AS semantic_score,
                    -- Postgres scored every candidate's words: one it did not score has none of them.
                    coalesce(k.score, CASE WHEN p_keyword_ids IS NULL THEN 0 END) AS keyword_score,
                    CASE WHEN s.rank <= semantic_listed THEN s.rank END AS semantic_rank,
                    CASE WHEN k.rank <= keyword_listed THEN k.rank END AS keyword_rank
                FROM semantic AS s FULL JOIN keyword AS k ON k.id = s.id
            ), spread AS (
                SELECT avg(semantic_score) AS semantic_mean, stddev_pop(semantic_score) AS semantic_sd,
                    min(semantic_score) AS semantic_min, avg(keyword_score) AS keyword_mean,
                    stddev_pop(keyword_score) AS keyword_sd, min(keyword_score) AS keyword_min
                FROM candidate
            )
            SELECT c.id, c.semantic_rank, c.keyword_rank,
                CASE
                    WHEN p_vector IS NULL THEN c.keyword_score
                    WHEN NOT by_words THEN c.semantic_score
                    -- Each side standardised over the candidates, equal weights; a side with one value says nothing.
                    ELSE coalesce((coalesce(c.semantic_score, sp.semantic_min) - sp.semantic_mean)
                            / nullif(sp.semantic_sd, 0), 0)
                        + coalesce((coalesce(c.keyword_score, sp.keyword_min) - sp.keyword_mean)
                            / nullif(sp.keyword_sd, 0), 0)
                END AS score
            FROM candidate AS c CROSS JOIN spread AS sp
            ORDER BY score DESC NULLS LAST, c.id LIMIT p_limit
        ) AS f;
        EXIT WHEN fusion_pass = 2 OR p_vector IS NULL OR NOT by_words OR cardinality(fused_ids) = 0;
        SELECT p_vector + avg(c.embedding) INTO feedback_vector
        FROM search.chunks AS c
        WHERE c.organization_id = p_organization_id AND c.id = ANY(fused_ids[1:3]) AND c.model = p_model;
        SELECT coalesce(array_agg(1 - (c.embedding <=> feedback_vector) ORDER BY s.position), '{}')
        INTO semantic_scores
        FROM unnest(semantic_ids) WITH ORDINALITY AS s(id, position)
        LEFT JOIN search.chunks AS c
            ON c.organization_id = p_organization_id AND c.id = ANY(semantic_ids) AND c.id = s.id;
    END LOOP;

    RETURN QUERY
    SELECT NULL::bigint, x.id, x.document_id, x.chunk_index, x.page, x.start_offset, x.end_offset, x.heading,
        x.text, f.score, f.semantic_rank, f.keyword_rank
    FROM unnest(fused_ids, fused_scores, semantic_ranks, keyword_ranks) WITH ORDINALITY
        AS f(id, score, semantic_rank, keyword_rank, position)
    JOIN search.chunks AS x ON x.organization_id = p_organization_id AND x.id = ANY(fused_ids) AND x.id = f.id
    ORDER BY f.position;
END
$$
"""


def _previous_search() -> str:
    """0009's search.search, to go back to."""
    path = Path(__file__).with_name("0009_bm25_and_one_call_search.py")
    spec = importlib.util.spec_from_file_location("search_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.SEARCH)


def upgrade() -> None:
    op.execute(SEARCH)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION search.search(uuid, vector, text, text, boolean, boolean, uuid[], integer, integer, "
        "bigint[], double precision[], double precision, double precision)"
    )
    op.execute(_previous_search())
