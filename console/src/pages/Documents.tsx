import { useMutation, useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { StatusBadge } from "../components/Badges";
import { ErrorMessage } from "../components/ErrorMessage";
import { Page } from "../components/Page";
import { ProgressBar } from "../components/ProgressBar";
import { UploadPanel } from "../components/UploadPanel";
import type { DocumentStatus } from "../gql/graphql";
import { FINAL, liveState, useDocumentEvents } from "../lib/events";
import { canUpload, useSession } from "../lib/useSession";
import { formatBytes, formatDateTime, formatInteger, titleCase } from "../lib/format";
import { DeleteDocumentMutation, DocumentsQuery } from "../operations";

const PAGE_SIZE = 20;
const STATUSES: DocumentStatus[] = ["QUEUED", "EXTRACTING", "INDEXING", "ANALYZING", "COMPLETED", "FAILED"];

function statusFrom(value: string | undefined): DocumentStatus | null {
  return STATUSES.find((s) => s === value) ?? null;
}

export function DocumentsPage() {
  const session = useSession();
  const { query, route } = useLocation();
  const status = statusFrom(query.status);
  // The cursor of each page visited so far: "Previous" goes back one, a new filter starts again.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  useEffect(() => setCursors([null]), [status]);
  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DocumentsQuery,
    variables: { first: PAGE_SIZE, after, status },
  });
  const events = useDocumentEvents(null);
  const [deleted, remove] = useMutation(DeleteDocumentMutation);

  // A document finished (or a new one was uploaded): the list, its filter and its counts change.
  const refresh = () => refetch({ requestPolicy: "network-only" });
  useEffect(() => {
    if (events.finished > 0) refresh();
  }, [events.finished]);

  if (!session) return null;
  const role = session.user.role;
  const connection = data?.documents;
  const pageNumber = cursors.length;

  async function onDelete(id: string, title: string) {
    if (!window.confirm(`Delete “${title}” everywhere? This cannot be undone.`)) return;
    const reply = await remove({ id });
    if (!reply.error) refresh();
  }

  return (
    <Page title="Documents">
      {canUpload(role) ? <UploadPanel events={events.byDocument} onUploaded={refresh} /> : null}

      <section aria-labelledby="list-heading">
        <div class="toolbar">
          <h2 id="list-heading">All documents</h2>
          <div class="inline-field">
            <label for="status-filter">Status</label>
            <select
              id="status-filter"
              value={status ?? ""}
              onChange={(e) => {
                const value = e.currentTarget.value;
                route(value ? `/?status=${value}` : "/");
              }}
            >
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {titleCase(s)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ErrorMessage error={error} />
        <ErrorMessage error={deleted.error} />
        {connection && connection.nodes.length === 0 ? (
          <p class="empty">{status ? `No documents are ${status.toLowerCase()}.` : "No documents yet."}</p>
        ) : null}
        {connection && connection.nodes.length > 0 ? (
          <table class="documents">
            <caption class="visually-hidden">Documents, with their processing status</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col">Pages</th>
                <th scope="col">Size</th>
                <th scope="col">Uploaded</th>
                {role !== "VIEWER" ? (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {connection.nodes.map((doc) => {
                const live = liveState(doc, events.byDocument.get(doc.id));
                const mayDelete = role === "ADMIN" || (role === "MEMBER" && doc.uploadedBy?.id === session.user.id);
                return (
                  <tr key={doc.id}>
                    <th scope="row">
                      <a href={`/documents/${doc.id}`}>{doc.title}</a>
                      <div class="muted small">
                        {doc.fileName}
                        {doc.replaces ? <> · new version of {doc.replaces.title}</> : null}
                      </div>
                    </th>
                    <td class="status-cell">
                      <StatusBadge status={live.status} />
                      {FINAL.has(live.status) ? null : (
                        <ProgressBar value={live.progress} label={`Processing of ${doc.title}`} />
                      )}
                      {live.status === "FAILED" && live.message ? <div class="small error-text">{live.message}</div> : null}
                    </td>
                    <td>{doc.pageCount ?? "—"}</td>
                    <td>{formatBytes(doc.sizeBytes)}</td>
                    <td>
                      {formatDateTime(doc.createdAt)}
                      <div class="muted small">{doc.uploadedBy?.name || doc.uploadedBy?.email || ""}</div>
                    </td>
                    {role !== "VIEWER" ? (
                      <td>
                        {mayDelete ? (
                          <button
                            type="button"
                            class="danger small"
                            aria-label={`Delete ${doc.title}`}
                            onClick={() => void onDelete(doc.id, doc.title)}
                          >
                            Delete
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        {connection ? (
          <nav class="pager" aria-label="Pages of documents">
            <button type="button" class="secondary" disabled={pageNumber === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <span aria-live="polite">
              Page {pageNumber} · {formatInteger(connection.totalCount)} document{connection.totalCount === 1 ? "" : "s"}
            </span>
            <button
              type="button"
              class="secondary"
              disabled={!connection.pageInfo.hasNextPage || fetching}
              onClick={() => setCursors([...cursors, connection.pageInfo.endCursor ?? null])}
            >
              Next
            </button>
          </nav>
        ) : fetching ? (
          <p aria-live="polite">Loading documents…</p>
        ) : null}
      </section>
    </Page>
  );
}
