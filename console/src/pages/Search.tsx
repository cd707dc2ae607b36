import { useQuery } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { ErrorMessage } from "../components/ErrorMessage";
import { Page } from "../components/Page";
import { Snippet } from "../components/Snippet";
import type { SearchMode } from "../gql/graphql";
import { useOnChange } from "../lib/hooks";
import { passageLink } from "../lib/links";
import { SearchQuery } from "../operations";

const MODES: [SearchMode, string, string][] = [
  ["HYBRID", "Hybrid", "meaning and words together"],
  ["SEMANTIC", "Meaning", "passages that mean the same, in other words"],
  ["KEYWORD", "Words", "the words as written"],
];

function modeFrom(value: string | undefined): SearchMode {
  return MODES.find(([mode]) => mode === value)?.[0] ?? "HYBRID";
}

export function SearchPage() {
  const { query, route } = useLocation();
  const searched = (query.q ?? "").trim();
  const mode = modeFrom(query.mode);
  const [text, setText] = useState(searched);
  const [chosen, setChosen] = useState<SearchMode>(mode);
  useOnChange(`${mode} ${searched}`, () => {
    setText(searched);
    setChosen(mode);
  });
  const [{ data, fetching, error }] = useQuery({
    query: SearchQuery,
    variables: { query: searched, mode, limit: 20 },
    pause: !searched,
  });

  function submit(event: Event) {
    event.preventDefault();
    const params = new URLSearchParams({ q: text.trim(), mode: chosen });
    if (text.trim()) route(`/search?${params.toString()}`);
  }

  const hits = searched ? data?.search : undefined;
  return (
    <Page title="Search">
      <form class="search-form" role="search" onSubmit={submit}>
        <label class="grow">
          Search the organization's documents
          <input type="search" name="q" value={text} onInput={(e) => setText(e.currentTarget.value)} required />
        </label>
        <fieldset class="modes">
          <legend>Match by</legend>
          {MODES.map(([value, label, hint]) => (
            <label key={value} class="radio" title={hint}>
              <input type="radio" name="mode" value={value} checked={chosen === value} onChange={() => setChosen(value)} />
              {label}
            </label>
          ))}
        </fieldset>
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={error} />
      {fetching && searched ? <p aria-live="polite">Searching…</p> : null}
      {hits ? (
        <section aria-labelledby="results-heading">
          <h2 id="results-heading" aria-live="polite">
            {hits.length === 0 ? `Nothing found for “${searched}”` : `${hits.length} passage${hits.length === 1 ? "" : "s"} for “${searched}”`}
          </h2>
          <ol class="results">
            {hits.map((hit) => (
              <li key={`${hit.document.id}-${hit.chunkIndex}`} class="result">
                <a class="result-title" href={passageLink(hit)}>
                  {hit.document.title}
                </a>
                <span class="muted small">
                  {hit.page != null ? ` · page ${hit.page}` : ""} · passage {hit.chunkIndex + 1}
                </span>
                <p class="snippet">
                  <Snippet snippet={hit.snippet} />
                </p>
                <p class="muted small">
                  Score {hit.score.toFixed(3)}
                  {hit.semanticRank != null ? ` · meaning rank ${hit.semanticRank}` : ""}
                  {hit.keywordRank != null ? ` · word rank ${hit.keywordRank}` : ""}
                </p>
              </li>
            ))}
          </ol>
        </section>
      ) : null}
    </Page>
  );
}
