import type { DocumentStatus, ItemStatus, RiskStatus, Severity } from "../gql/graphql";
import { titleCase } from "../lib/format";

export function StatusBadge({ status }: { status: DocumentStatus }) {
  return <span class={`badge status-${status.toLowerCase()}`}>{titleCase(status)}</span>;
}

/** Severity by colour and by word, so it reads without colour too. */
export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span class={`badge severity-${severity.toLowerCase()}`}>{titleCase(severity)}</span>;
}

/** "IN_PROGRESS" as "In progress". */
export function statusLabel(status: ItemStatus | RiskStatus): string {
  return titleCase(status).replace(/_/g, " ");
}

/** A register entry's status (an action item's or a risk's), by colour and word. */
export function EntryStatusBadge({ status }: { status: ItemStatus | RiskStatus }) {
  return <span class={`badge entry-status entry-${status.toLowerCase().replace(/_/g, "-")}`}>{statusLabel(status)}</span>;
}

/** Overdue, in red and in words. */
export function OverdueBadge() {
  return <span class="badge overdue-badge">Overdue</span>;
}
