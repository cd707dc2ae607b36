// Live processing progress from the documentEvents subscription, kept per document.

import { useSubscription } from "@urql/preact";
import type { DocumentEventsSubscription as EventsResult, DocumentStatus } from "../gql/graphql";
import { DocumentEventsSubscription } from "../operations";

export type ProcessingEvent = EventsResult["documentEvents"];

export interface EventLog {
  byDocument: ReadonlyMap<string, ProcessingEvent>;
  /** Bumped whenever a document reaches COMPLETED or FAILED, so lists know to refresh. */
  finished: number;
}

export const FINAL: ReadonlySet<DocumentStatus> = new Set(["COMPLETED", "FAILED"]);

const EMPTY: EventLog = { byDocument: new Map(), finished: 0 };

function record(log: EventLog | undefined, data: EventsResult): EventLog {
  const previous = log ?? EMPTY;
  const event = data.documentEvents;
  const byDocument = new Map(previous.byDocument);
  byDocument.set(event.documentId, event);
  return { byDocument, finished: previous.finished + (FINAL.has(event.status) ? 1 : 0) };
}

/** Events for one document, or (documentId null) for every document of the organization. */
export function useDocumentEvents(documentId: string | null, pause = false): EventLog {
  const [result] = useSubscription({ query: DocumentEventsSubscription, variables: { documentId }, pause }, record);
  return result.data ?? EMPTY;
}

/** What a row shows: the later of the listed state and the last event about the document. */
export function liveState(
  listed: { status: DocumentStatus; progress: number; error?: string | null; updatedAt: string },
  event: ProcessingEvent | undefined,
): { status: DocumentStatus; progress: number; message: string | null } {
  if (event && Date.parse(event.at) >= Date.parse(listed.updatedAt)) {
    return { status: event.status, progress: event.progress, message: event.status === "FAILED" ? event.message : null };
  }
  return { status: listed.status, progress: listed.progress, message: listed.error ?? null };
}
