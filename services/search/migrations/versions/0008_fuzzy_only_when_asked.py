"""The misspelling fallback runs only when the caller allows it.

Revision ID: 0008
Revises: 0007

`search.candidates` (0005) fell back to word similarity whenever no chunk had the query's words. For a query
whose user asked for exactly what they wrote, that answered something else: "JIRA-4712" found JIRA-4711 (word
similarity 0.80), the quoted phrase "2024 Q1" found Q1 2024. The caller now says whether the fallback may run
(`p_fuzzy`, from domain.allows_fuzzy); the function is otherwise 0005's, which is read from that revision
rather than copied here.
"""

from alembic import op

revision = "0008"
down_revision = "0007"

WITHOUT_FUZZY_FLAG = "search.candidates(uuid, vector, text, text, text[], uuid[], integer, integer)"
WITH_FUZZY_FLAG = "search.candidates(uuid, vector, text, text, text[], uuid[], integer, integer, boolean)"


def _candidates_of_0005() -> str:
    script = op.get_context().script
    if script is None:
        raise RuntimeError("migration 0008 needs the migration scripts (run it through alembic's environment)")
    sql: str = script.get_revision("0005").module.CANDIDATES
    return sql


def _with_fuzzy_flag(sql: str) -> str:
    changes = {
        "    p_any_word_candidates integer\n)": "    p_any_word_candidates integer,\n    p_fuzzy boolean\n)",
        "IF cardinality(found) = 0 AND length(p_query) >= 4 THEN": (
            "IF p_fuzzy AND cardinality(found) = 0 AND length(p_query) >= 4 THEN"
        ),
    }
    for old, new in changes.items():
        if sql.count(old) != 1:
            raise RuntimeError(f"migration 0008 expected exactly one {old!r} in 0005's search.candidates")
        sql = sql.replace(old, new)
    return sql


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {WITHOUT_FUZZY_FLAG}")
    op.execute(_with_fuzzy_flag(_candidates_of_0005()))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {WITH_FUZZY_FLAG}")
    op.execute(_candidates_of_0005())
