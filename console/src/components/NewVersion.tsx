import { useQuery } from "@urql/preact";
import { useRef, useState } from "preact/hooks";
import type { ItemStatus, RiskStatus } from "../gql/graphql";
import type { PublicError } from "../lib/errors";
import { formatDate, formatDateTime } from "../lib/format";
import { uploadFile } from "../lib/upload";
import { DocumentChangesQuery } from "../operations";
import { EntryStatusBadge, SeverityBadge } from "./Badges";
import { ErrorMessage } from "./ErrorMessage";
import { ProgressBar } from "./ProgressBar";
import { refusal } from "./UploadPanel";

/**
 * "Upload a new version…" (MEMBER, ADMIN): one file sent as `uploadDocument(file, replaces: id)`; once it is in, the
 * new version's page opens, where its processing shows and, when analysed, what it changes.
 */
export function NewVersionUpload({
  documentId,
  title,
  onUploaded,
}: {
  documentId: string;
  title: string;
  onUploaded: (id: string) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [sending, setSending] = useState<{ name: string; percent: number } | null>(null);
  const [error, setError] = useState<{ name: string; error: PublicError } | null>(null);

  async function send(file: File) {
    setError(null);
    setSending({ name: file.name, percent: 0 });
    const progress = (sent: number, total: number) => setSending({ name: file.name, percent: total ? (100 * sent) / total : 100 });
    const outcome = await uploadFile(file, progress, documentId);
    setSending(null);
    if (outcome.document) onUploaded(outcome.document.id);
    else setError({ name: file.name, error: outcome.error });
  }

  return (
    <>
      <button type="button" class="secondary" disabled={sending !== null} onClick={() => input.current?.click()}>
        Upload a new version…
      </button>
      <input
        ref={input}
        type="file"
        class="visually-hidden"
        tabIndex={-1}
        aria-label={`A new version of ${title}`}
        accept=".pdf,.docx,.md,.markdown,.txt,.html,.htm,.vtt,.srt,application/pdf,text/*"
        onChange={(event) => {
          const file = event.currentTarget.files?.[0];
          event.currentTarget.value = "";
          if (file) void send(file);
        }}
      />
      {sending ? <ProgressBar value={sending.percent} label={`Upload of ${sending.name}, a new version of ${title}`} /> : null}
      {error ? (
        <p class="error" role="alert">
          {error.name}: {refusal(error.error)}
        </p>
      ) : null}
    </>
  );
}

/** An entry's status in the register now: a version that no longer lists an item has not necessarily closed it. */
function RegisterStatus({ status }: { status: ItemStatus | RiskStatus }) {
  return (
    <>
      <span class="muted small"> · in the register: </span>
      <EntryStatusBadge status={status} />
    </>
  );
}

/** What this version changes in the register against the document it replaces (documentChanges). */
export function VersionChanges({ documentId, analysed }: { documentId: string; analysed: boolean }) {
  const [{ data, error, fetching }] = useQuery({
    query: DocumentChangesQuery,
    variables: { id: documentId },
    pause: !analysed,
    requestPolicy: "cache-and-network",
  });
  const changes = data?.documentChanges;
  const previous = changes?.previous;
  const groups = changes
    ? [
        {
          heading: "New action items",
          items: changes.actionItemsAdded.map((item) => (
            <li key={item.id}>
              {item.title}
              <span class="muted small">
                {item.owner ? ` · ${item.owner}` : ""}
                {item.dueDate ? ` · due ${formatDate(item.dueDate)}` : ""}
              </span>
            </li>
          )),
        },
        {
          heading: "Action items closed or no longer listed",
          items: changes.actionItemsClosed.map((item) => (
            <li key={item.id}>
              {item.title}
              <RegisterStatus status={item.status} />
            </li>
          )),
        },
        {
          heading: "New risks",
          items: changes.risksAdded.map((risk) => (
            <li key={risk.id}>
              <SeverityBadge severity={risk.severity} /> {risk.description}
            </li>
          )),
        },
        {
          heading: "Risks escalated",
          items: changes.risksEscalated.map((risk) => (
            <li key={risk.id}>
              <SeverityBadge severity={risk.severity} /> {risk.description}
            </li>
          )),
        },
        {
          heading: "Risks retired or no longer listed",
          items: changes.risksRetired.map((risk) => (
            <li key={risk.id}>
              {risk.description}
              <RegisterStatus status={risk.status} />
            </li>
          )),
        },
        {
          heading: "New decisions",
          items: changes.decisionsAdded.map((decision) => (
            <li key={decision.id}>
              {decision.text}
              {decision.madeBy ? <span class="muted small"> · decided by {decision.madeBy}</span> : null}
            </li>
          )),
        },
      ].filter((group) => group.items.length > 0)
    : [];

  return (
    <section class="card changes" aria-labelledby="changes-heading">
      <h2 id="changes-heading">Changes since the previous version</h2>
      <ErrorMessage error={error} />
      {!analysed ? <p>The changes appear when this version has been analysed.</p> : null}
      {analysed && fetching && !changes ? <p>Comparing the versions…</p> : null}
      {previous ? (
        <p>
          Compared with <a href={`/documents/${previous.id}`}>{previous.title}</a>
          <span class="muted small">, uploaded {formatDateTime(previous.createdAt)}</span>.
        </p>
      ) : null}
      {changes && !previous ? <p>The previous version no longer exists.</p> : null}
      {previous && groups.length === 0 ? <p class="empty">No action items, risks or decisions changed.</p> : null}
      {groups.map((group, index) => (
        <div key={group.heading} class="change-group">
          <h3 id={`changes-${index}`}>
            {group.heading} ({group.items.length})
          </h3>
          <ul aria-labelledby={`changes-${index}`}>{group.items}</ul>
        </div>
      ))}
    </section>
  );
}
