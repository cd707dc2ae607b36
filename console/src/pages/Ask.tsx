import { useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { ErrorMessage } from "../components/ErrorMessage";
import { Page } from "../components/Page";
import { Snippet } from "../components/Snippet";
import { formatUsd, modelName } from "../lib/format";
import { passageLink } from "../lib/links";
import { AskQuery } from "../operations";

export function AskPage() {
  const { query, route } = useLocation();
  const asked = (query.q ?? "").trim();
  const [question, setQuestion] = useState(asked);
  useEffect(() => setQuestion(asked), [asked]);
  const [{ data, fetching, error }] = useQuery({ query: AskQuery, variables: { question: asked }, pause: !asked });

  function submit(event: Event) {
    event.preventDefault();
    if (question.trim()) route(`/ask?${new URLSearchParams({ q: question.trim() }).toString()}`);
  }

  const answer = asked ? data?.ask : undefined;
  return (
    <Page title="Ask">
      <form class="stack" onSubmit={submit}>
        <label>
          Your question about the organization's documents
          <textarea name="question" rows={3} required value={question} onInput={(e) => setQuestion(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={fetching}>
          {fetching ? "Finding the answer…" : "Ask"}
        </button>
      </form>
      <ErrorMessage error={error} />
      {answer ? (
        <section aria-labelledby="answer-heading" class="card answer" aria-live="polite">
          <h2 id="answer-heading">Answer</h2>
          <p class="answer-text">
            {answer.answer}
            {answer.citations.map((_, index) => (
              <sup key={index}>
                <a href={`#citation-${index + 1}`} aria-label={`Source ${index + 1}`}>
                  [{index + 1}]
                </a>
              </sup>
            ))}
          </p>
          {answer.citations.length ? (
            <>
              <h3>Sources</h3>
              <ol class="citations">
                {answer.citations.map((citation, index) => (
                  <li key={index} id={`citation-${index + 1}`}>
                    <a href={passageLink(citation)}>
                      {citation.document.title}
                      {citation.page != null ? `, page ${citation.page}` : ""}
                    </a>
                    <p class="snippet">
                      <Snippet snippet={citation.snippet} />
                    </p>
                  </li>
                ))}
              </ol>
            </>
          ) : null}
          {answer.modelCall ? (
            <p class="muted small">
              Answered by {modelName(answer.modelCall)} in {answer.modelCall.latencyMs} ms
              {answer.modelCall.cached ? " (cached)" : ""} for {formatUsd(answer.modelCall.costUsd)}.
            </p>
          ) : null}
        </section>
      ) : null}
    </Page>
  );
}
