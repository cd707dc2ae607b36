import { useQuery } from "@urql/preact";
import { useEffect } from "preact/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Mentions } from "../../components/Mentions";
import { Page } from "../../components/Page";
import { useDocumentEvents } from "../../lib/events";
import { DecisionsQuery } from "../../operations";
import { PAGE_SIZE, Pager, RegisterNav, useCursors } from "./shared";

/** The decision log: every document's decisions, the newest first, with who decided and where it is written. */
export function DecisionsPage() {
  const cursors = useCursors("");
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DecisionsQuery,
    variables: { first: PAGE_SIZE, after: cursors.after },
  });
  const events = useDocumentEvents(null);
  useEffect(() => {
    if (events.finished > 0) refetch({ requestPolicy: "network-only" });
  }, [events.finished]);
  const connection = data?.decisions;
  const decisions = connection?.nodes ?? [];

  return (
    <Page title="Decisions">
      <RegisterNav />
      <p class="muted">The decision log: what was decided, by whom, and where it is written, the newest first.</p>
      <ErrorMessage error={error} />
      <section aria-labelledby="decisions-heading">
        <h2 id="decisions-heading">Decision log</h2>
        {connection && decisions.length === 0 ? <p class="empty">No decisions yet.</p> : null}
        {decisions.length > 0 ? (
          <ul class="items">
            {decisions.map((decision) => (
              <li key={decision.id} id={`decision-${decision.id}`} class="item entry decision">
                <p class="item-title">{decision.text}</p>
                <p class="item-meta">
                  <span>
                    <span class="label">Decided by</span> {decision.madeBy ?? "not named"}
                  </span>
                </p>
                <Mentions mentions={decision.mentions} />
              </li>
            ))}
          </ul>
        ) : null}
        {connection ? (
          <Pager
            label="Pages of decisions"
            noun={["decision", "decisions"]}
            pageNumber={cursors.pageNumber}
            totalCount={connection.totalCount}
            hasNextPage={connection.pageInfo.hasNextPage}
            fetching={fetching}
            onPrevious={cursors.previous}
            onNext={() => cursors.next(connection.pageInfo.endCursor ?? null)}
          />
        ) : fetching ? (
          <p aria-live="polite">Loading decisions…</p>
        ) : null}
      </section>
    </Page>
  );
}
