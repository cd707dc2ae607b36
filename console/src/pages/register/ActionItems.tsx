import { useMutation, useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useEffect, useMemo, useState } from "preact/hooks";
import { EntryStatusBadge, OverdueBadge, statusLabel } from "../../components/Badges";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Mentions } from "../../components/Mentions";
import { Page } from "../../components/Page";
import type { ActionItemFieldsFragment as ActionItem, ItemStatus } from "../../gql/graphql";
import { ACTION_ITEMS_CSV, ACTION_ITEMS_ICS } from "../../lib/download";
import { useDocumentEvents } from "../../lib/events";
import { formatDate } from "../../lib/format";
import { useOnChange } from "../../lib/hooks";
import { canUpload, useSession } from "../../lib/useSession";
import { ActionItemsQuery, UpdateActionItemMutation } from "../../operations";
import {
  ExportButtons,
  PAGE_SIZE,
  Pager,
  RegisterNav,
  StatusChoices,
  choicesFrom,
  choicesParam,
  isDate,
  useCursors,
  useOpenedEntry,
} from "./shared";

const STATUSES: readonly ItemStatus[] = ["OPEN", "IN_PROGRESS", "DONE", "DROPPED"];
/** Open items by default: what still needs doing. */
const DEFAULT_STATUSES: readonly ItemStatus[] = ["OPEN", "IN_PROGRESS"];
const UNASSIGNED = "Unassigned";

type Arrangement = "due" | "owner";

interface Filters {
  statuses: ItemStatus[];
  owner: string;
  dueBefore: string;
  arrange: Arrangement;
}

function filtersFrom(query: Record<string, string>): Filters {
  return {
    statuses: choicesFrom(query.status, STATUSES, DEFAULT_STATUSES),
    owner: (query.owner ?? "").trim(),
    dueBefore: isDate(query.dueBefore) ? query.dueBefore : "",
    arrange: query.arrange === "owner" ? "owner" : "due",
  };
}

function addressOf(filters: Filters): string {
  const params = new URLSearchParams();
  const status = choicesParam(filters.statuses, DEFAULT_STATUSES);
  if (status) params.set("status", status);
  if (filters.owner) params.set("owner", filters.owner);
  if (filters.dueBefore) params.set("dueBefore", filters.dueBefore);
  if (filters.arrange === "owner") params.set("arrange", "owner");
  const query = params.toString();
  return `/register/action-items${query ? `?${query}` : ""}`;
}

/** Items by owner, owners alphabetically and the unassigned last; each group keeps the list's due-date order. */
function byOwner(items: ActionItem[]): [string, ActionItem[]][] {
  const groups = new Map<string, ActionItem[]>();
  for (const item of items) {
    const owner = item.owner ?? UNASSIGNED;
    groups.set(owner, [...(groups.get(owner) ?? []), item]);
  }
  return [...groups.entries()].sort(([a], [b]) =>
    a === UNASSIGNED ? 1 : b === UNASSIGNED ? -1 : a.localeCompare(b, undefined, { sensitivity: "base" }),
  );
}

export function ActionItemsPage() {
  const session = useSession();
  const { query, route } = useLocation();
  const filters = filtersFrom(query);
  const filterKey = JSON.stringify([filters.statuses, filters.owner, filters.dueBefore]);
  const cursors = useCursors(filterKey);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ActionItemsQuery,
    variables: {
      status: filters.statuses.length ? filters.statuses : null,
      owner: filters.owner || null,
      dueBefore: filters.dueBefore || null,
      first: PAGE_SIZE,
      after: cursors.after,
    },
  });
  // A document finished processing: its action items may have joined the register.
  const events = useDocumentEvents(null);
  useEffect(() => {
    if (events.finished > 0) refetch({ requestPolicy: "network-only" });
  }, [events.finished]);
  const [saved, setSaved] = useState<string | null>(null);
  const connection = data?.actionItems;
  const items = connection?.nodes ?? [];
  const missing = useOpenedEntry("item-", Boolean(connection) && !fetching, items.map((item) => item.id));
  const owners = useMemo(
    () => [...new Set(items.map((item) => item.owner).filter((owner): owner is string => Boolean(owner)))].sort(),
    [items],
  );
  const mayEdit = canUpload(session?.user.role ?? "VIEWER");

  const itemList = (list: ActionItem[]) => (
    <ul class="items">
      {list.map((item) => (
        <ActionItemEntry key={item.id} item={item} mayEdit={mayEdit} onSaved={setSaved} />
      ))}
    </ul>
  );

  return (
    <Page title="Action items" actions={<ExportButtons exports={[ACTION_ITEMS_CSV, ACTION_ITEMS_ICS]} />}>
      <RegisterNav />
      <p class="muted">
        Every document's action items in one list: a task mentioned in several documents is one entry, with each
        mention.
      </p>
      <FilterForm filters={filters} owners={owners} onApply={(next) => route(addressOf(next))} />
      <ErrorMessage error={error} />
      {saved ? (
        <p class="notice" role="status">
          {saved}
        </p>
      ) : null}
      {missing ? (
        <p class="notice" role="status">
          The action item you opened is not in this list: try other filters, or the next page.
        </p>
      ) : null}
      <section aria-labelledby="items-heading">
        <div class="toolbar">
          <h2 id="items-heading">{describeFilters(filters)}</h2>
          <div class="inline-field">
            <label for="arrange">Arrange by</label>
            <select
              id="arrange"
              value={filters.arrange}
              onChange={(event) => route(addressOf({ ...filters, arrange: event.currentTarget.value as Arrangement }))}
            >
              <option value="due">Due date</option>
              <option value="owner">Owner</option>
            </select>
          </div>
        </div>
        {connection && items.length === 0 ? <p class="empty">No action items match.</p> : null}
        {items.length > 0 && filters.arrange === "owner"
          ? byOwner(items).map(([owner, list]) => (
              <section key={owner} class="owner-group" aria-label={`${owner}: ${list.length} action item${list.length === 1 ? "" : "s"}`}>
                <h3>
                  {owner} <span class="muted small">({list.length})</span>
                </h3>
                {itemList(list)}
              </section>
            ))
          : items.length > 0
            ? itemList(items)
            : null}
        {connection ? (
          <Pager
            label="Pages of action items"
            noun={["action item", "action items"]}
            pageNumber={cursors.pageNumber}
            totalCount={connection.totalCount}
            hasNextPage={connection.pageInfo.hasNextPage}
            fetching={fetching}
            onPrevious={cursors.previous}
            onNext={() => cursors.next(connection.pageInfo.endCursor ?? null)}
          />
        ) : fetching ? (
          <p aria-live="polite">Loading action items…</p>
        ) : null}
      </section>
    </Page>
  );
}

function describeFilters(filters: Filters): string {
  const statuses =
    filters.statuses.length === 0 || filters.statuses.length === STATUSES.length
      ? "All action items"
      : `${filters.statuses.map((s) => statusLabel(s)).join(" and ")} action items`;
  const owner = filters.owner ? ` of ${filters.owner}` : "";
  const due = filters.dueBefore ? `, due before ${formatDate(filters.dueBefore)}` : "";
  return `${statuses.charAt(0)}${statuses.slice(1).toLowerCase()}${owner}${due}`;
}

function FilterForm({ filters, owners, onApply }: { filters: Filters; owners: string[]; onApply: (filters: Filters) => void }) {
  const [statuses, setStatuses] = useState(filters.statuses);
  const [owner, setOwner] = useState(filters.owner);
  const [dueBefore, setDueBefore] = useState(filters.dueBefore);
  useOnChange(JSON.stringify([filters.statuses, filters.owner, filters.dueBefore]), () => {
    setStatuses(filters.statuses);
    setOwner(filters.owner);
    setDueBefore(filters.dueBefore);
  });

  return (
    <form
      class="filters card"
      aria-label="Filter action items"
      onSubmit={(event) => {
        event.preventDefault();
        onApply({ ...filters, statuses, owner: owner.trim(), dueBefore });
      }}
    >
      <StatusChoices all={STATUSES} chosen={statuses} label={statusLabel} onChange={setStatuses} />
      <label>
        Owner
        <input type="text" list="known-owners" value={owner} onInput={(e) => setOwner(e.currentTarget.value)} autocomplete="off" />
        <datalist id="known-owners">
          {owners.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </label>
      <label>
        Due before
        <input type="date" value={dueBefore} onInput={(e) => setDueBefore(e.currentTarget.value)} />
      </label>
      <div class="form-end">
        <button type="submit">Apply filters</button>
        <button type="button" class="secondary" onClick={() => onApply({ ...filters, statuses: [...DEFAULT_STATUSES], owner: "", dueBefore: "" })}>
          Reset
        </button>
      </div>
    </form>
  );
}

function ActionItemEntry({ item, mayEdit, onSaved }: { item: ActionItem; mayEdit: boolean; onSaved: (message: string) => void }) {
  return (
    <li id={`item-${item.id}`} tabIndex={-1} class={`item entry${item.overdue ? " overdue" : ""}`}>
      <div class="entry-head">
        <p class="item-title">{item.title}</p>
        <span class="entry-badges">
          {item.overdue ? <OverdueBadge /> : null}
          <EntryStatusBadge status={item.status} />
        </span>
      </div>
      <p class="item-meta">
        <span>
          <span class="label">Owner</span> {item.owner ?? "unassigned"}
        </span>
        <span class={item.overdue ? "overdue-text" : undefined}>
          <span class="label">Due</span> {item.dueDate ? formatDate(item.dueDate) : "no date"}
          {item.overdue ? " (overdue)" : ""}
        </span>
      </p>
      <Mentions mentions={item.mentions} />
      {mayEdit ? <ActionItemEditor item={item} onSaved={onSaved} /> : null}
    </li>
  );
}

/** Status, owner and due date, changed in place (MEMBER, ADMIN); only what changed is sent, an emptied field clears. */
function ActionItemEditor({ item, onSaved }: { item: ActionItem; onSaved: (message: string) => void }) {
  const [status, setStatus] = useState<ItemStatus>(item.status);
  const [owner, setOwner] = useState(item.owner ?? "");
  const [dueDate, setDueDate] = useState(item.dueDate ?? "");
  // Saved (or changed by someone else and refetched): the fields show the entry as it now is.
  useOnChange(JSON.stringify([item.status, item.owner, item.dueDate]), () => {
    setStatus(item.status);
    setOwner(item.owner ?? "");
    setDueDate(item.dueDate ?? "");
  });
  const [result, update] = useMutation(UpdateActionItemMutation);
  const changes: { status?: ItemStatus; owner?: string | null; dueDate?: string | null } = {};
  if (status !== item.status) changes.status = status;
  if (owner.trim() !== (item.owner ?? "")) changes.owner = owner.trim() || null;
  if (dueDate !== (item.dueDate ?? "")) changes.dueDate = dueDate || null;
  const changed = Object.keys(changes).length > 0;

  async function save(event: Event) {
    event.preventDefault();
    if (!changed) return;
    const reply = await update({ id: item.id, ...changes });
    if (reply.data) {
      const now = reply.data.updateActionItem;
      const due = now.dueDate ? formatDate(now.dueDate) : "no date";
      onSaved(`Saved: “${now.title}” is ${statusLabel(now.status).toLowerCase()}, owner ${now.owner ?? "none"}, due ${due}.`);
    }
  }

  return (
    <form class="entry-edit" aria-label={`Change “${item.title}”`} onSubmit={save}>
      <label>
        Status
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value as ItemStatus)}>
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {statusLabel(value)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Owner
        <input type="text" value={owner} onInput={(e) => setOwner(e.currentTarget.value)} autocomplete="off" />
      </label>
      <label>
        Due date
        <input type="date" value={dueDate} onInput={(e) => setDueDate(e.currentTarget.value)} />
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
