import type { DocumentStatus, Severity } from "../gql/graphql";
import { titleCase } from "../lib/format";

export function StatusBadge({ status }: { status: DocumentStatus }) {
  return <span class={`badge status-${status.toLowerCase()}`}>{titleCase(status)}</span>;
}

/** Severity by colour and by word, so it reads without colour too. */
export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span class={`badge severity-${severity.toLowerCase()}`}>{titleCase(severity)}</span>;
}
