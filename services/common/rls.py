"""SQL for row-level security, shared by every service's migrations."""

from __future__ import annotations

# NULLIF: after a SET LOCAL transaction ends the setting reads '' rather than NULL; '' must match nothing.
# The sub-select makes the setting a value read once per statement (an InitPlan): written bare, Postgres calls
# current_setting and casts its text to a uuid for every row it checks, which made counting 25,000 register
# entries twice as slow.
CURRENT_ORG = "(SELECT NULLIF(current_setting('app.current_org_id', true), '')::uuid)"


def tenant_isolation_sql(table: str, *, column: str = "organization_id") -> list[str]:
    """Statements that confine `table` to the organization set for the transaction, owner included."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({column} = {CURRENT_ORG}) "
        f"WITH CHECK ({column} = {CURRENT_ORG})",
    ]


# How Postgres prints a policy that reads a setting per row, and the same read once per statement. The patterns
# match pg_policies' deparsed text (current_setting('name'::text, true)), which a rewritten policy no longer has.
_READ_ONCE = [
    (
        r"\(NULLIF\(current_setting\('([a-z_.]+)'::text, true\), ''::text\)\)::uuid",
        r"(SELECT NULLIF(current_setting('\1', true), '')::uuid)",
    ),
    (
        r"NULLIF\(current_setting\('([a-z_.]+)'::text, true\), ''::text\)",
        r"(SELECT NULLIF(current_setting('\1', true), ''))",
    ),
    (
        r"current_setting\('([a-z_.]+)'::text, true\) = 'on'::text",
        r"(SELECT current_setting('\1', true) = 'on')",
    ),
]
# The same three, read once, as Postgres prints them: "( SELECT <expression> [AS alias])".
_READ_PER_ROW = [
    (r"""\( SELECT (\(NULLIF\(current_setting\('[a-z_.]+'::text, true\), ''::text\)\)::uuid) AS "nullif"\)""", r"\1"),
    (r"""\( SELECT (NULLIF\(current_setting\('[a-z_.]+'::text, true\), ''::text\)) AS "nullif"\)""", r"\1"),
    (r"\( SELECT (\(current_setting\('[a-z_.]+'::text, true\) = 'on'::text\))\)", r"\1"),
]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rewrite_policies_sql(schema: str, rewrites: list[tuple[str, str]], *, rewritten: bool) -> str:
    """A DO block that applies `rewrites` (regular expressions) to the USING and WITH CHECK of every policy of
    `schema` that reads settings per row (or, `rewritten`, once per statement)."""
    steps = "\n".join(
        f"expression := regexp_replace(expression, {_literal(pattern)}, {_literal(replacement)}, 'g');\n"
        f"checked := regexp_replace(checked, {_literal(pattern)}, {_literal(replacement)}, 'g');"
        for pattern, replacement in rewrites
    )
    which = "LIKE '%( SELECT %'" if rewritten else "NOT LIKE '%( SELECT %'"
    # Migration SQL made of this module's constants and a schema name.
    return f"""
        DO $$
        DECLARE
            p record;
            expression text;
            checked text;
        BEGIN
            FOR p IN SELECT * FROM pg_policies
                     WHERE schemaname = {_literal(schema)} AND qual LIKE '%current_setting(%' AND qual {which} LOOP
                expression := p.qual;
                checked := p.with_check;
                {steps}
                EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)', p.policyname, p.schemaname, p.tablename,
                               expression);
                IF checked IS NOT NULL THEN
                    EXECUTE format('ALTER POLICY %I ON %I.%I WITH CHECK (%s)', p.policyname, p.schemaname,
                                   p.tablename, checked);
                END IF;
            END LOOP;
        END $$"""  # noqa: S608


def settings_read_once_sql(schema: str) -> str:
    """Every policy of `schema` that reads a setting per row reads it once per statement instead (the same
    rows pass); policies already written that way are left alone."""
    return _rewrite_policies_sql(schema, _READ_ONCE, rewritten=False)


def settings_read_per_row_sql(schema: str) -> str:
    """The way back: every policy of `schema` reads its settings per row again."""
    return _rewrite_policies_sql(schema, _READ_PER_ROW, rewritten=True)
