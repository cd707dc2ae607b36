import { useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useMemo } from "preact/hooks";
import { BarList, DailyChart, everyDay } from "../components/Charts";
import { ErrorMessage } from "../components/ErrorMessage";
import { Page } from "../components/Page";
import { formatInteger, formatUsd } from "../lib/format";
import { useSession } from "../lib/useSession";
import { UsageQuery } from "../operations";

const PERIODS = [7, 30, 90] as const;

export function OnlyAdministrators({ what }: { what: string }) {
  return (
    <p class="notice" role="status">
      Only administrators of your organization can see {what}.
    </p>
  );
}

export function UsagePage() {
  const session = useSession();
  const { query, route } = useLocation();
  const days = PERIODS.find((p) => String(p) === query.days) ?? 30;
  // Whole UTC days: the first day of the period from its midnight, so every column is a full day.
  const since = useMemo(() => {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1))).toISOString();
  }, [days]);
  const admin = session?.user.role === "ADMIN";
  const [{ data, error, fetching }] = useQuery({ query: UsageQuery, variables: { since }, pause: !admin });

  if (!admin) {
    return (
      <Page title="Usage">
        <OnlyAdministrators what="usage and costs" />
      </Page>
    );
  }
  const usage = data?.usage;
  const policy = data?.routingPolicy;
  const share = policy && policy.monthlyBudgetUsd > 0 ? policy.spentThisMonthUsd / policy.monthlyBudgetUsd : 0;
  return (
    <Page title="Usage">
      <div class="toolbar">
        <div class="inline-field">
          <label for="usage-period">Period</label>
          <select id="usage-period" value={String(days)} onChange={(e) => route(`/usage?days=${e.currentTarget.value}`)}>
            {PERIODS.map((p) => (
              <option key={p} value={String(p)}>
                Last {p} days
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorMessage error={error} />
      {fetching && !usage ? <p aria-live="polite">Loading usage…</p> : null}
      {policy ? (
        <section class="card" aria-labelledby="budget-heading">
          <h2 id="budget-heading">This month's spend</h2>
          <p class="budget-figures">
            <strong>{formatUsd(policy.spentThisMonthUsd)}</strong> of a {formatUsd(policy.monthlyBudgetUsd)} monthly budget
            {policy.organizationSetBudget ? "" : " (the deployment's default)"} · {Math.round(share * 100)}%
          </p>
          <meter
            class="budget"
            min={0}
            max={Math.max(policy.monthlyBudgetUsd, policy.spentThisMonthUsd, 0.01)}
            low={policy.monthlyBudgetUsd * 0.75}
            high={policy.monthlyBudgetUsd * 0.9}
            optimum={0}
            value={policy.spentThisMonthUsd}
            aria-label="Spend against the monthly budget"
          >
            {Math.round(share * 100)}%
          </meter>
          <p class="muted small">When the budget is spent, analysis moves to the free local model until the month ends.</p>
        </section>
      ) : null}
      {usage ? (
        <>
          <dl class="facts">
            <div>
              <dt>Cost</dt>
              <dd>{formatUsd(usage.totalCostUsd)}</dd>
            </div>
            <div>
              <dt>Documents processed</dt>
              <dd>{formatInteger(usage.documentsProcessed)}</dd>
            </div>
            <div>
              <dt>Pages processed</dt>
              <dd>{formatInteger(usage.pagesProcessed)}</dd>
            </div>
          </dl>
          <DailyChart title="Per day" lines={everyDay(usage.byDay, days)} />
          <div class="two-columns">
            <BarList title="Per model" keyLabel="Model" lines={usage.byModel} />
            <BarList title="Per task" keyLabel="Task" lines={usage.byTask} />
          </div>
        </>
      ) : null}
    </Page>
  );
}
