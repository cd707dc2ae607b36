import { useClient, useMutation, useQuery } from "@urql/preact";
import { useLocation, useRoute } from "preact-iso";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { SeverityBadge, StatusBadge } from "../components/Badges";
import { ErrorMessage } from "../components/ErrorMessage";
import { NewVersionUpload, VersionChanges } from "../components/NewVersion";
import { Page } from "../components/Page";
import { ProgressBar } from "../components/ProgressBar";
import { SummaryTabs } from "../components/SummaryTabs";
import type { DocumentQuery as DocumentResult } from "../gql/graphql";
import { FINAL, liveState, useDocumentEvents } from "../lib/events";
import { formatBytes, formatDate, formatDateTime, formatInteger, formatUsd, modelName } from "../lib/format";
import { useOnChange } from "../lib/hooks";
import { type Range, codePointRange, findQuote } from "../lib/text";
import { canUpload, useSession } from "../lib/useSession";
import {
  DeleteDocumentMutation,
  DocumentQuery,
  DocumentTextQuery,
  DownloadUrlQuery,
  ReprocessDocumentMutation,
} from "../operations";

/** The text shown beside the analysis; longer documents are cut here (the original stays downloadable). */
const MAX_TEXT_CHARS = 2_000_000;

type LoadedDocument = NonNullable<DocumentResult["document"]>;
type Analysis = NonNullable<LoadedDocument["analysis"]>;

/** What is highlighted in the text: a quote clicked on this page, or a passage a link pointed at. */
interface Highlight {
  label: string;
  quote?: string;
  /** Code-point offsets from the server (a search hit or a citation). */
  offsets?: [number, number];
  page?: number | null;
}

function highlightFromQuery(query: Record<string, string>): Highlight | null {
  const page = Number.parseInt(query.page ?? "", 10);
  const onPage = Number.isNaN(page) ? null : page;
  // A register mention links here with its quote (found in the text by its words) and the quote's place.
  if (query.quote) {
    const place = onPage != null ? `, on page ${onPage}` : query.time ? `, said at ${query.time}` : "";
    return { label: `The quote you opened${place}`, quote: query.quote, page: onPage };
  }
  const from = Number.parseInt(query.from ?? "", 10);
  const to = Number.parseInt(query.to ?? "", 10);
  if (Number.isNaN(from) || Number.isNaN(to)) return null;
  return {
    label: onPage == null ? "The passage you opened" : `The passage you opened, on page ${onPage}`,
    offsets: [from, to],
    page: onPage,
  };
}

export function DocumentPage() {
  const { params } = useRoute();
  const { query, route } = useLocation();
  const session = useSession();
  const id = params.id ?? "";
  const [{ data, error, fetching }, refetch] = useQuery({ query: DocumentQuery, variables: { id } });
  const document = data?.document;
  const events = useDocumentEvents(id, !document || FINAL.has(document.status));
  const event = events.byDocument.get(id);
  const [highlight, setHighlight] = useState<Highlight | null>(() => highlightFromQuery(query));
  useOnChange(`${query.from} ${query.to} ${query.quote}`, () => setHighlight(highlightFromQuery(query)));

  useEffect(() => {
    if (event && FINAL.has(event.status)) refetch({ requestPolicy: "network-only" });
  }, [event?.status]);

  if (!document) {
    return (
      <Page title={fetching ? "Loading…" : "Document not found"}>
        <ErrorMessage error={error} />
        {!fetching && !error ? <p>This document does not exist, or it was deleted.</p> : null}
        <p>
          <a href="/">Back to documents</a>
        </p>
      </Page>
    );
  }

  const live = liveState(document, event);
  const role = session?.user.role ?? "VIEWER";
  const mayChange = canUpload(role);
  const mayDelete = role === "ADMIN" || (role === "MEMBER" && document.uploadedBy?.id === session?.user.id);

  return (
    <Page
      title={document.title}
      actions={
        <DocumentActions
          document={document}
          mayChange={mayChange}
          mayDelete={mayDelete}
          onDeleted={() => route("/")}
          onReprocessed={() => refetch({ requestPolicy: "network-only" })}
          onNewVersion={(newId) => route(`/documents/${newId}`)}
        />
      }
    >
      <dl class="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={live.status} />
          </dd>
        </div>
        <div>
          <dt>File</dt>
          <dd>
            {document.fileName} · {formatBytes(document.sizeBytes)}
          </dd>
        </div>
        <div>
          <dt>Pages</dt>
          <dd>{document.pageCount ?? "—"}</dd>
        </div>
        <div>
          <dt>Uploaded</dt>
          <dd>
            {formatDateTime(document.createdAt)}
            {document.uploadedBy ? ` by ${document.uploadedBy.name || document.uploadedBy.email}` : ""}
          </dd>
        </div>
        {document.replaces ? (
          <div>
            <dt>New version of</dt>
            <dd>
              <a href={`/documents/${document.replaces.id}`}>{document.replaces.title}</a>
            </dd>
          </div>
        ) : null}
      </dl>
      {!FINAL.has(live.status) ? (
        <div class="card">
          <p aria-live="polite">{event?.message || "Processing…"}</p>
          <ProgressBar value={live.progress} label={`Processing of ${document.title}`} />
        </div>
      ) : null}
      {live.status === "FAILED" ? (
        <p class="error" role="alert">
          Processing failed: {live.message || document.error || "no reason was given"}
        </p>
      ) : null}

      {document.replaces ? <VersionChanges documentId={document.id} analysed={live.status === "COMPLETED"} /> : null}

      <div class="document-layout">
        <div class="analysis-column">
          {document.analysis ? (
            <AnalysisView analysis={document.analysis} onQuote={(quote, label) => setHighlight({ quote, label })} />
          ) : live.status === "COMPLETED" || live.status === "FAILED" ? (
            <p>No analysis is available for this document.</p>
          ) : (
            <p>The analysis appears here when processing has finished.</p>
          )}
        </div>
        <DocumentText id={document.id} ready={live.status !== "QUEUED" && live.status !== "EXTRACTING"} highlight={highlight} />
      </div>
    </Page>
  );
}

function DocumentActions({
  document,
  mayChange,
  mayDelete,
  onDeleted,
  onReprocessed,
  onNewVersion,
}: {
  document: LoadedDocument;
  mayChange: boolean;
  mayDelete: boolean;
  onDeleted: () => void;
  onReprocessed: () => void;
  onNewVersion: (id: string) => void;
}) {
  const client = useClient();
  const [removed, remove] = useMutation(DeleteDocumentMutation);
  const [reprocessed, reprocess] = useMutation(ReprocessDocumentMutation);
  const [downloadError, setDownloadError] = useState<string | null>(null);

  // Download links last minutes: ask for one when it is wanted, not when the page loads.
  async function download() {
    const reply = await client.query(DownloadUrlQuery, { id: document.id }, { requestPolicy: "network-only" }).toPromise();
    const url = reply.data?.document?.downloadUrl;
    if (url) window.location.assign(url);
    else setDownloadError("The original file could not be fetched.");
  }

  return (
    <>
      <button type="button" class="secondary" onClick={() => void download()}>
        Download original
      </button>
      {mayChange ? <NewVersionUpload documentId={document.id} title={document.title} onUploaded={onNewVersion} /> : null}
      {mayChange ? (
        <button
          type="button"
          class="secondary"
          disabled={reprocessed.fetching}
          onClick={async () => {
            const reply = await reprocess({ id: document.id });
            if (!reply.error) onReprocessed();
          }}
        >
          Process again
        </button>
      ) : null}
      {mayDelete ? (
        <button
          type="button"
          class="danger"
          onClick={async () => {
            if (!window.confirm(`Delete “${document.title}” everywhere? This cannot be undone.`)) return;
            const reply = await remove({ id: document.id });
            if (!reply.error) onDeleted();
          }}
        >
          Delete
        </button>
      ) : null}
      {downloadError ? (
        <p class="error" role="alert">
          {downloadError}
        </p>
      ) : null}
      <ErrorMessage error={removed.error ?? reprocessed.error} />
    </>
  );
}

interface Quoted {
  sourceQuote: string;
  page?: number | null;
  quoteTime?: string | null;
}

/** A quote as a button: clicking it highlights the passage in the document's text. */
function QuoteButton({ item, label, onQuote }: { item: Quoted; label: string; onQuote: (quote: string, label: string) => void }) {
  const place = item.page != null ? `page ${item.page}` : item.quoteTime ? `at ${item.quoteTime}` : null;
  return (
    <button
      type="button"
      class="quote"
      onClick={() => onQuote(item.sourceQuote, place ? `${label} (${place})` : label)}
      title="Show this passage in the document's text"
    >
      <span class="visually-hidden">Show in the text: </span>“{item.sourceQuote}”
      {place ? <span class="quote-place"> — {place}</span> : null}
    </button>
  );
}

function AnalysisView({ analysis, onQuote }: { analysis: Analysis; onQuote: (quote: string, label: string) => void }) {
  return (
    <>
      <section aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        <SummaryTabs short={analysis.short ?? null} medium={analysis.medium ?? null} detailed={analysis.detailed ?? null} />
      </section>

      <section aria-labelledby="actions-heading">
        <h2 id="actions-heading">Action items ({analysis.actionItems.length})</h2>
        {analysis.actionItems.length === 0 ? (
          <p class="empty">No action items were found.</p>
        ) : (
          <ul class="items">
            {analysis.actionItems.map((item) => (
              <li key={item.id} class="item">
                <p class="item-title">{item.title}</p>
                <p class="item-meta">
                  <span>
                    <span class="label">Owner</span> {item.owner ?? "unassigned"}
                  </span>
                  <span>
                    <span class="label">Due</span> {item.dueDate ? formatDate(item.dueDate) : "no date"}
                  </span>
                </p>
                <QuoteButton item={item} label={`Source of “${item.title}”`} onQuote={onQuote} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="risks-heading">
        <h2 id="risks-heading">Risks ({analysis.risks.length})</h2>
        {analysis.risks.length === 0 ? (
          <p class="empty">No risks were found.</p>
        ) : (
          <ul class="items">
            {analysis.risks.map((risk) => (
              <li key={risk.id} class={`item risk risk-${risk.severity.toLowerCase()}`}>
                <p class="item-title">
                  <SeverityBadge severity={risk.severity} /> {risk.description}
                </p>
                {risk.mitigation ? (
                  <p class="item-meta">
                    <span class="label">Mitigation</span> {risk.mitigation}
                  </p>
                ) : null}
                <QuoteButton item={risk} label={`Source of the risk “${risk.description}”`} onQuote={onQuote} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="decisions-heading">
        <h2 id="decisions-heading">Decisions ({analysis.decisions.length})</h2>
        {analysis.decisions.length === 0 ? (
          <p class="empty">No decisions were found.</p>
        ) : (
          <ul class="items">
            {analysis.decisions.map((decision) => (
              <li key={decision.id} class="item decision">
                <p class="item-title">{decision.text}</p>
                {decision.madeBy ? (
                  <p class="item-meta">
                    <span>
                      <span class="label">Decided by</span> {decision.madeBy}
                    </span>
                  </p>
                ) : null}
                <QuoteButton item={decision} label={`Source of the decision “${decision.text}”`} onQuote={onQuote} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="cost-heading">
        <h2 id="cost-heading">Cost and model calls</h2>
        <p>
          This analysis cost <strong>{formatUsd(analysis.costUsd)}</strong> in {analysis.modelCalls.length} model call
          {analysis.modelCalls.length === 1 ? "" : "s"}.
        </p>
        <div class="table-scroll">
          <table class="compact">
            <caption class="visually-hidden">Model calls of this analysis</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Model</th>
                <th scope="col">Tokens in / out</th>
                <th scope="col">Cost</th>
                <th scope="col">Time</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {analysis.modelCalls.map((call, index) => (
                <tr key={index}>
                  <th scope="row">{call.task.replace(/_/g, " ")}</th>
                  <td>{modelName(call)}</td>
                  <td>
                    {formatInteger(call.inputTokens)} / {formatInteger(call.outputTokens)}
                  </td>
                  <td>{formatUsd(call.costUsd)}</td>
                  <td>{formatInteger(call.latencyMs)} ms</td>
                  <td>{[call.cached ? "cached" : "", call.fallbackFrom ? `fell back from ${call.fallbackFrom}` : ""].filter(Boolean).join("; ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

function DocumentText({ id, ready, highlight }: { id: string; ready: boolean; highlight: Highlight | null }) {
  const [{ data, error, fetching }] = useQuery({
    query: DocumentTextQuery,
    variables: { id, maxChars: MAX_TEXT_CHARS },
    pause: !ready,
    requestPolicy: "cache-first",
  });
  const text = data?.document?.text ?? null;
  const mark = useRef<HTMLElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const range: Range | null = useMemo(() => {
    if (!text || !highlight) return null;
    if (highlight.offsets) return codePointRange(text, highlight.offsets[0], highlight.offsets[1]);
    return highlight.quote ? findQuote(text, highlight.quote) : null;
  }, [text, highlight]);

  useEffect(() => {
    const target = mark.current;
    const container = box.current;
    if (range && target && container) {
      // Scroll the text box to the passage, and the page only as far as needed to show the box.
      const offset = target.getBoundingClientRect().top - container.getBoundingClientRect().top;
      container.scrollTop += offset - container.clientHeight / 3;
      container.scrollIntoView({ block: "nearest" });
      target.focus({ preventScroll: true });
    }
  }, [range, highlight]);

  return (
    <section class="text-column" aria-labelledby="text-heading">
      <h2 id="text-heading">Text</h2>
      <ErrorMessage error={error} />
      {highlight && text !== null ? (
        <p class="notice" role="status">
          {range ? `${highlight.label} is highlighted below.` : `${highlight.label} was not found in the text.`}
        </p>
      ) : null}
      {!ready ? <p>The text appears when extraction has finished.</p> : null}
      {ready && fetching && text === null ? <p>Loading the text…</p> : null}
      {text !== null ? (
        <div class="document-text" tabIndex={0} aria-label="The document's text" ref={box}>
          {range ? (
            <>
              {text.slice(0, range[0])}
              <mark ref={mark} tabIndex={-1} id="highlight">
                {text.slice(range[0], range[1])}
              </mark>
              {text.slice(range[1])}
            </>
          ) : (
            text
          )}
        </div>
      ) : null}
      {text !== null && text.length >= MAX_TEXT_CHARS ? (
        <p class="muted small">The text is cut at {formatInteger(MAX_TEXT_CHARS)} characters; download the original for the rest.</p>
      ) : null}
    </section>
  );
}
