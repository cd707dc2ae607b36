import { useMutation, useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { EntryStatusBadge, SeverityBadge, statusLabel } from "../../components/Badges";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Mentions } from "../../components/Mentions";
import { Page } from "../../components/Page";
import type { RiskFieldsFragment as Risk, RiskStatus, Severity } from "../../gql/graphql";
import { RISKS_CSV } from "../../lib/download";
import { useDocumentEvents } from "../../lib/events";
import { titleCase } from "../../lib/format";
import { useOnChange } from "../../lib/hooks";
import { canUpload, useSession } from "../../lib/useSession";
import { RiskRegisterQuery, UpdateRiskMutation } from "../../operations";
import {
  ExportButtons,
  PAGE_SIZE,
  Pager,
  RegisterNav,
  StatusChoices,
  choicesFrom,
  choicesParam,
  useCursors,
  useOpenedEntry,
} from "./shared";

const STATUSES: readonly RiskStatus[] = ["OPEN", "MITIGATED", "CLOSED"];
/** Risks still being watched by default: open and mitigated, not closed. */
const DEFAULT_STATUSES: readonly RiskStatus[] = ["OPEN", "MITIGATED"];
const SEVERITIES: readonly Severity[] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

interface Filters {
  statuses: RiskStatus[];
  minSeverity: Severity | null;
}

function filtersFrom(query: Record<string, string>): Filters {
  return {
    statuses: choicesFrom(query.status, STATUSES, DEFAULT_STATUSES),
    minSeverity: SEVERITIES.find((s) => s === query.minSeverity) ?? null,
  };
}

function addressOf(filters: Filters): string {
  const params = new URLSearchParams();
  const status = choicesParam(filters.statuses, DEFAULT_STATUSES);
  if (status) params.set("status", status);
  if (filters.minSeverity) params.set("minSeverity", filters.minSeverity);
  const query = params.toString();
  return `/register/risks${query ? `?${query}` : ""}`;
}

export function RisksPage() {
  const session = useSession();
  const { query, route } = useLocation();
  const filters = filtersFrom(query);
  const cursors = useCursors(JSON.stringify(filters));
  const [{ data, fetching, error }, refetch] = useQuery({
    query: RiskRegisterQuery,
    variables: {
      status: filters.statuses.length ? filters.statuses : null,
      minSeverity: filters.minSeverity,
      first: PAGE_SIZE,
      after: cursors.after,
    },
  });
  const events = useDocumentEvents(null);
  useEffect(() => {
    if (events.finished > 0) refetch({ requestPolicy: "network-only" });
  }, [events.finished]);
  const [saved, setSaved] = useState<string | null>(null);
  const connection = data?.riskRegister;
  const risks = connection?.nodes ?? [];
  const missing = useOpenedEntry("risk-", Boolean(connection) && !fetching, risks.map((risk) => risk.id));
  const mayEdit = canUpload(session?.user.role ?? "VIEWER");

  return (
    <Page title="Risks" actions={<ExportButtons exports={[RISKS_CSV]} />}>
      <RegisterNav />
      <p class="muted">Every document's risks in one register, the most severe first.</p>
      <FilterForm filters={filters} onApply={(next) => route(addressOf(next))} />
      <ErrorMessage error={error} />
      {saved ? (
        <p class="notice" role="status">
          {saved}
        </p>
      ) : null}
      {missing ? (
        <p class="notice" role="status">
          The risk you opened is not in this list: try other filters, or the next page.
        </p>
      ) : null}
      <section aria-labelledby="risks-heading">
        <h2 id="risks-heading">
          {filters.statuses.length === 0 || filters.statuses.length === STATUSES.length
            ? "All risks"
            : `${filters.statuses.map((s) => statusLabel(s).toLowerCase()).join(" and ")} risks`.replace(/^./, (c) => c.toUpperCase())}
          {filters.minSeverity ? `, ${filters.minSeverity.toLowerCase()} or worse` : ""}
        </h2>
        {connection && risks.length === 0 ? <p class="empty">No risks match.</p> : null}
        {risks.length > 0 ? (
          <ul class="items">
            {risks.map((risk) => (
              <RiskEntry key={risk.id} risk={risk} mayEdit={mayEdit} onSaved={setSaved} />
            ))}
          </ul>
        ) : null}
        {connection ? (
          <Pager
            label="Pages of risks"
            noun={["risk", "risks"]}
            pageNumber={cursors.pageNumber}
            totalCount={connection.totalCount}
            hasNextPage={connection.pageInfo.hasNextPage}
            fetching={fetching}
            onPrevious={cursors.previous}
            onNext={() => cursors.next(connection.pageInfo.endCursor ?? null)}
          />
        ) : fetching ? (
          <p aria-live="polite">Loading risks…</p>
        ) : null}
      </section>
    </Page>
  );
}

function FilterForm({ filters, onApply }: { filters: Filters; onApply: (filters: Filters) => void }) {
  const [statuses, setStatuses] = useState(filters.statuses);
  const [minSeverity, setMinSeverity] = useState(filters.minSeverity);
  useOnChange(JSON.stringify([filters.statuses, filters.minSeverity]), () => {
    setStatuses(filters.statuses);
    setMinSeverity(filters.minSeverity);
  });

  return (
    <form
      class="filters card"
      aria-label="Filter risks"
      onSubmit={(event) => {
        event.preventDefault();
        onApply({ statuses, minSeverity });
      }}
    >
      <StatusChoices all={STATUSES} chosen={statuses} label={statusLabel} onChange={setStatuses} />
      <label>
        Minimum severity
        <select
          value={minSeverity ?? ""}
          onChange={(e) => setMinSeverity(SEVERITIES.find((s) => s === e.currentTarget.value) ?? null)}
        >
          <option value="">Any severity</option>
          {SEVERITIES.map((severity) => (
            <option key={severity} value={severity}>
              {titleCase(severity)}
              {severity === "CRITICAL" ? "" : " or higher"}
            </option>
          ))}
        </select>
      </label>
      <div class="form-end">
        <button type="submit">Apply filters</button>
        <button type="button" class="secondary" onClick={() => onApply({ statuses: [...DEFAULT_STATUSES], minSeverity: null })}>
          Reset
        </button>
      </div>
    </form>
  );
}

function RiskEntry({ risk, mayEdit, onSaved }: { risk: Risk; mayEdit: boolean; onSaved: (message: string) => void }) {
  return (
    <li id={`risk-${risk.id}`} tabIndex={-1} class={`item entry risk risk-${risk.severity.toLowerCase()}`}>
      <div class="entry-head">
        <p class="item-title">
          <SeverityBadge severity={risk.severity} /> {risk.description}
        </p>
        <span class="entry-badges">
          <EntryStatusBadge status={risk.status} />
        </span>
      </div>
      <p class="item-meta">
        <span>
          <span class="label">Mitigation</span> {risk.mitigation ?? "none recorded"}
        </span>
      </p>
      <Mentions mentions={risk.mentions} />
      {mayEdit ? <RiskEditor risk={risk} onSaved={onSaved} /> : null}
    </li>
  );
}

/** Status, severity and mitigation, changed in place (MEMBER, ADMIN); an emptied mitigation clears it. */
function RiskEditor({ risk, onSaved }: { risk: Risk; onSaved: (message: string) => void }) {
  const [status, setStatus] = useState<RiskStatus>(risk.status);
  const [severity, setSeverity] = useState<Severity>(risk.severity);
  const [mitigation, setMitigation] = useState(risk.mitigation ?? "");
  useOnChange(JSON.stringify([risk.status, risk.severity, risk.mitigation]), () => {
    setStatus(risk.status);
    setSeverity(risk.severity);
    setMitigation(risk.mitigation ?? "");
  });
  const [result, update] = useMutation(UpdateRiskMutation);
  const changes: { status?: RiskStatus; severity?: Severity; mitigation?: string | null } = {};
  if (status !== risk.status) changes.status = status;
  if (severity !== risk.severity) changes.severity = severity;
  if (mitigation.trim() !== (risk.mitigation ?? "")) changes.mitigation = mitigation.trim() || null;
  const changed = Object.keys(changes).length > 0;

  async function save(event: Event) {
    event.preventDefault();
    if (!changed) return;
    const reply = await update({ id: risk.id, ...changes });
    if (reply.data) {
      const now = reply.data.updateRisk;
      onSaved(`Saved: “${now.description}” is ${statusLabel(now.status).toLowerCase()}, ${now.severity.toLowerCase()} severity.`);
    }
  }

  return (
    <form class="entry-edit" aria-label={`Change the risk “${risk.description}”`} onSubmit={save}>
      <label>
        Status
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value as RiskStatus)}>
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {statusLabel(value)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Severity
        <select value={severity} onChange={(e) => setSeverity(e.currentTarget.value as Severity)}>
          {SEVERITIES.map((value) => (
            <option key={value} value={value}>
              {titleCase(value)}
            </option>
          ))}
        </select>
      </label>
      <label class="wide">
        Mitigation
        <input type="text" value={mitigation} onInput={(e) => setMitigation(e.currentTarget.value)} autocomplete="off" />
      </label>
      <div class="form-end">
        <button type="submit" disabled={!changed || result.fetching}>
          Save
        </button>
      </div>
      <ErrorMessage error={result.error} />
    </form>
  );
}
