import { useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { ErrorMessage } from "../components/ErrorMessage";
import { Page } from "../components/Page";
import { Snippet } from "../components/Snippet";
import { formatUsd, modelName } from "../lib/format";
import { useOnChange } from "../lib/hooks";
import { passageLink } from "../lib/links";
import { AskQuery } from "../operations";

function SourceLink({ number }: { number: number }) {
  return (
    <sup>
      <a href={`#citation-${number}`} aria-label={`Source ${number}`}>
        [{number}]
      </a>
    </sup>
  );
}

/** The answer with its citation markers ([1], as the server numbers them) as links to the sources below. */
function AnswerText({ text, sources }: { text: string; sources: number }) {
  const parts = text.split(/\[(\d+)\]/);
  const marked = parts.length > 1;
  return (
    <>
      {parts.map((part, index) => {
        if (index % 2 === 0) return part;
        const number = Number(part);
        return number >= 1 && number <= sources ? <SourceLink key={index} number={number} /> : `[${part}]`;
      })}
      {marked ? null : Array.from({ length: sources }, (_, index) => <SourceLink key={`s${index}`} number={index + 1} />)}
    </>
  );
}

export function AskPage() {
  const { query, route } = useLocation();
  const asked = (query.q ?? "").trim();
  const [question, setQuestion] = useState(asked);
  useOnChange(asked, () => setQuestion(asked));
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
            <AnswerText text={answer.answer} sources={answer.citations.length} />
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
