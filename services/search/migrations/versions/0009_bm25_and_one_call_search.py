"""BM25 word ranking from per-organization term statistics, and a whole search in one call.

Revision ID: 0009
Revises: 0008

Words. `search.chunk_terms` holds, for every chunk, each word it contains (an English lexeme of its heading or
text, as its `tsv` has them) with how often it occurs and how many words the chunk has; `search.term_totals`
holds each organization's number of chunks and words. BM25 needs exactly these: a word's document frequency
is the number of its rows, the average chunk length is words / chunks. Both are written by statement
triggers on search.chunks from the rows each statement inserted, deleted or changed (its transition tables),
in that statement's transaction: indexing, deleting, re-indexing, an edit by hand and an older replica alike.
So they cannot drift from the chunks:
- every change to chunks passes through these triggers and commits or rolls back with them;
- the totals change by increments (`words = words + delta`), which Postgres applies to the latest committed
  row under its lock, so concurrent writers add up instead of overwriting each other;
- writers of one organization already take its index version row first (migration 0007's triggers fire
  before these, by name), so they reach the term rows one after the other and cannot deadlock on them.
A word of a hyphenated compound counts through its parts: "heat-transfer" gives heat-transf, heat and
transfer, and only heat and transfer count (each word once in the chunk's length). An identifier keeps its
parts too: Postgres reads "OPS-42" as 'op' and '-42'. Like the chunks, both
tables are partitioned by organization and confined by row-level security.

Search. `search.search` answers a search in one round trip: the organization's index version (the search
service keeps results per version, 0007), both candidate lists, their fusion, and the winning chunks. It
replaces `search.candidates` and `search.chunks_by_id`, which stay for replicas of the previous release
during a rolling deploy. The keyword side ranks by BM25 (k1, b from the caller); which chunks match is
unchanged: a plain query of several words matches chunks with any of its words, anything else (one word,
a quoted phrase, an excluded word) what `websearch_to_tsquery` matches, and a misspelling that matched
nothing falls back to word similarity when the caller allows it (0008). A plain query's candidates are scored
again with pseudo-relevance feedback (RM3).

Fusion. Every candidate from either list gets both scores: the cosine of its vector and the BM25 of its words
(0 when it does not match the query), so a chunk ranked 51st by one side is not scored as if that side had
nothing to say. Each side's scores are standardised over the candidates (z-scores) and added with equal
weights. Chosen on Cranfield against reciprocal rank fusion and min-max scaling (bench/fusion_choice.py).
With an external keyword index (OpenSearch) the caller passes its ids and BM25 scores; chunks it did not
return take the lowest of its scores.
"""

from alembic import op

from services.common.rls import tenant_isolation_sql
from services.search.repository import REINDEX_SETTING

revision = "0009"
down_revision = "0008"

PARTITIONS = 16

# The words of a tsvector that BM25 counts, with how often each occurs: English lexemes (weights A and B:
# heading and text; C is the 'simple' copy kept for exact matches), hyphenated compounds left to their parts
# (a leading '-' is the parser's signed number: "OPS-42" is 'op' and '-42').
CHUNK_WORDS = """
CREATE FUNCTION search.chunk_words(p_tsv tsvector) RETURNS TABLE (lexeme text, frequency integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT u.lexeme,
        (coalesce(cardinality(array_positions(u.weights, 'A')), 0)
            + coalesce(cardinality(array_positions(u.weights, 'B')), 0))::integer
    FROM unnest(p_tsv) AS u
    WHERE u.weights && ARRAY['A', 'B'] AND strpos(u.lexeme, '-') <= 1
$$
"""

# Statement triggers: `changed_from` holds the rows before a statement (deleted or updated ones), `changed_to`
# the rows after it (inserted or updated ones). An update that leaves the text alone (the re-index command
# sets vectors) changes no term.
TERM_TRIGGER = """
CREATE FUNCTION search.count_terms_{event}() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Three statements, not one: an update that keeps a word removes and adds the same row.
    DELETE FROM search.chunk_terms AS t
    USING ({before}) AS b CROSS JOIN LATERAL search.chunk_words(b.tsv) AS w
    WHERE t.organization_id = b.organization_id AND t.lexeme = w.lexeme AND t.chunk_id = b.id;
    INSERT INTO search.chunk_terms (organization_id, lexeme, chunk_id, frequency, chunk_length)
    SELECT a.organization_id, w.lexeme, a.id, w.frequency, sum(w.frequency) OVER (PARTITION BY a.id)
    FROM ({after}) AS a CROSS JOIN LATERAL search.chunk_words(a.tsv) AS w;
    INSERT INTO search.term_totals AS t (organization_id, chunks, words)
    SELECT d.organization_id, sum(d.chunks), sum(d.words) FROM (
        SELECT b.organization_id, -1 AS chunks,
            -(SELECT coalesce(sum(w.frequency), 0) FROM search.chunk_words(b.tsv) AS w) AS words
        FROM ({before}) AS b
        UNION ALL
        SELECT a.organization_id, 1, (SELECT coalesce(sum(w.frequency), 0) FROM search.chunk_words(a.tsv) AS w)
        FROM ({after}) AS a
    ) AS d
    GROUP BY d.organization_id HAVING sum(d.chunks) <> 0 OR sum(d.words) <> 0 ORDER BY d.organization_id
    ON CONFLICT (organization_id) DO UPDATE SET chunks = t.chunks + excluded.chunks, words = t.words + excluded.words;
    RETURN NULL;
END
$$
"""
CHANGED_TEXT = (
    "SELECT {side}.* FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id "
    "AND n.organization_id = o.organization_id WHERE n.tsv IS DISTINCT FROM o.tsv"
)
EVENTS = {
    "insert": ("SELECT * FROM new_rows WHERE false", "SELECT * FROM new_rows"),
    "delete": ("SELECT * FROM old_rows", "SELECT * FROM old_rows WHERE false"),
    "update": (CHANGED_TEXT.format(side="o"), CHANGED_TEXT.format(side="n")),
}
TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}

SEARCH = """
CREATE FUNCTION search.search(
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

# BM25 of chunks for `p_words` (each with its count in the query), from the organization's term statistics.
# Which chunks: `p_among` when given (a query's matches), else every chunk with any of the words; within
# `p_document_ids` when given; only `p_only` when given. A word's document frequency is counted over the whole
# organization, whatever the filters.
BM25 = """
CREATE FUNCTION search.bm25(
    p_organization_id uuid,
    p_words text[],
    p_counts integer[],
    p_among bigint[],
    p_document_ids uuid[],
    p_chunks double precision,
    p_mean_length double precision,
    p_k1 double precision,
    p_b double precision,
    p_only bigint[] DEFAULT NULL
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE sql STABLE
AS $$
    WITH word AS (
        SELECT w.lexeme, w.count FROM unnest(p_words, p_counts) AS w(lexeme, count)
    ), posting AS MATERIALIZED (
        SELECT t.lexeme, t.chunk_id, t.frequency, t.chunk_length, w.count
        FROM word AS w JOIN search.chunk_terms AS t
            ON t.organization_id = p_organization_id AND t.lexeme = w.lexeme
    ), weight AS (
        SELECT p.lexeme, ln(1 + (p_chunks - count(*) + 0.5) / (count(*) + 0.5)) AS idf
        FROM posting AS p GROUP BY p.lexeme
    ), scored AS (
        SELECT p.chunk_id, sum(w.idf * p.count * p.frequency * (p_k1 + 1)
            / (p.frequency + p_k1 * (1 - p_b + p_b * p.chunk_length / greatest(p_mean_length, 1)))) AS score
        FROM posting AS p JOIN weight AS w USING (lexeme)
        WHERE (p_only IS NULL OR p.chunk_id = ANY(p_only))
        GROUP BY p.chunk_id
    )
    SELECT coalesce(s.chunk_id, a.id), coalesce(s.score, 0)
    FROM scored AS s FULL JOIN unnest(p_among) AS a(id) ON a.id = s.chunk_id
    WHERE (p_among IS NULL OR a.id IS NOT NULL)
        AND (p_document_ids IS NULL OR coalesce(s.chunk_id, a.id) IN (
            SELECT c.id FROM search.chunks AS c
            WHERE c.organization_id = p_organization_id AND c.document_id = ANY(p_document_ids)))
$$
"""


# BM25 of the chunks `p_ids` for words weighted `p_weights` (RM3's expanded query), each word's document
# frequency counted over the organization. Reads only those chunks' postings of those words.
BM25_OF = """
CREATE FUNCTION search.bm25_of(
    p_organization_id uuid,
    p_words text[],
    p_weights double precision[],
    p_ids bigint[],
    p_chunks double precision,
    p_mean_length double precision,
    p_k1 double precision,
    p_b double precision
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE sql STABLE
AS $$
    WITH word AS MATERIALIZED (  -- each count once, not once per posting
        SELECT w.lexeme, w.weight, (
            SELECT count(*) FROM search.chunk_terms AS t
            WHERE t.organization_id = p_organization_id AND t.lexeme = w.lexeme) AS chunks
        FROM unnest(p_words, p_weights) AS w(lexeme, weight)
    )
    SELECT t.chunk_id, sum(w.weight * ln(1 + (p_chunks - w.chunks + 0.5) / (w.chunks + 0.5)) * t.frequency * (p_k1 + 1)
        / (t.frequency + p_k1 * (1 - p_b + p_b * t.chunk_length / greatest(p_mean_length, 1))))
    FROM word AS w JOIN search.chunk_terms AS t
        ON t.organization_id = p_organization_id AND t.lexeme = w.lexeme AND t.chunk_id = ANY(p_ids)
    GROUP BY t.chunk_id
$$
"""


def _policies(table: str) -> list[str]:
    return [
        *tenant_isolation_sql(table),
        f"CREATE POLICY reindex_access ON {table} USING (current_setting('{REINDEX_SETTING}', true) = 'on')",
    ]


def upgrade() -> None:
    op.execute(CHUNK_WORDS)
    op.execute("""
        CREATE TABLE search.chunk_terms (
            organization_id uuid NOT NULL,
            lexeme text NOT NULL,
            chunk_id bigint NOT NULL,
            frequency integer NOT NULL,
            chunk_length integer NOT NULL,
            -- Index-only scans: a word's postings with everything BM25 needs, in one organization's range.
            PRIMARY KEY (organization_id, lexeme, chunk_id) INCLUDE (frequency, chunk_length)
        ) PARTITION BY HASH (organization_id)""")
    tables = ["search.chunk_terms"]
    for remainder in range(PARTITIONS):
        partition = f"search.chunk_terms_p{remainder:02d}"
        # Vacuumed after every 2% of new rows rather than 20%: a search reads postings by index only, which
        # skips the table only for pages the last vacuum marked all-visible. In a freshly loaded organization of
        # 10,000 chunks, a query's first BM25 pass (2,800 postings) took 19 ms before a vacuum, 8 ms after.
        op.execute(
            f"CREATE TABLE {partition} PARTITION OF search.chunk_terms "
            f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {remainder}) "
            "WITH (autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.02)"
        )
        tables.append(partition)
    op.execute("""
        CREATE TABLE search.term_totals (
            organization_id uuid PRIMARY KEY,
            chunks bigint NOT NULL,
            words bigint NOT NULL
        )""")
    tables.append("search.term_totals")
    for table in tables:
        for statement in _policies(table):
            op.execute(statement)
    for event, (before, after) in EVENTS.items():
        op.execute(TERM_TRIGGER.format(event=event, before=before, after=after))
        # Named to fire after chunks_<event>_raises_index_versions (triggers fire in name order).
        op.execute(
            f"CREATE TRIGGER chunks_{event}_updates_terms AFTER {event.upper()} ON search.chunks "
            f"REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION search.count_terms_{event}()"
        )
    # The chunks already there: FORCE row-level security binds this owner too, so under reindex_access.
    op.execute(f"SELECT set_config('{REINDEX_SETTING}', 'on', true)")
    op.execute("""
        INSERT INTO search.chunk_terms (organization_id, lexeme, chunk_id, frequency, chunk_length)
        SELECT c.organization_id, w.lexeme, c.id, w.frequency, sum(w.frequency) OVER (PARTITION BY c.id)
        FROM search.chunks AS c CROSS JOIN LATERAL search.chunk_words(c.tsv) AS w""")
    op.execute("""
        INSERT INTO search.term_totals (organization_id, chunks, words)
        SELECT c.organization_id, count(*),
            coalesce(sum((SELECT sum(w.frequency) FROM search.chunk_words(c.tsv) AS w)), 0)
        FROM search.chunks AS c GROUP BY c.organization_id""")
    op.execute(BM25)
    op.execute(BM25_OF)
    op.execute(SEARCH)
    op.execute("ANALYZE search.chunk_terms")


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS search.search(uuid, vector, text, text, boolean, boolean, uuid[], integer, integer, "
        "bigint[], double precision[], double precision, double precision)"
    )
    op.execute(
        "DROP FUNCTION IF EXISTS search.bm25_of(uuid, text[], double precision[], bigint[], double precision, "
        "double precision, double precision, double precision)"
    )
    op.execute(
        "DROP FUNCTION IF EXISTS search.bm25(uuid, text[], integer[], bigint[], uuid[], double precision, "
        "double precision, double precision, double precision, bigint[])"
    )
    for event in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS chunks_{event}_updates_terms ON search.chunks")
        op.execute(f"DROP FUNCTION IF EXISTS search.count_terms_{event}()")
    op.execute("DROP TABLE IF EXISTS search.term_totals")
    op.execute("DROP TABLE IF EXISTS search.chunk_terms")
    op.execute("DROP FUNCTION IF EXISTS search.chunk_words(tsvector)")
