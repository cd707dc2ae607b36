import { formatDateTime } from "../lib/format";
import { quoteLink, quotePlace } from "../lib/links";

export interface MentionView {
  document: { id: string; title: string };
  sourceQuote: string;
  page?: number | null;
  quoteTime?: string | null;
  at: string;
}

/** Where a register entry was found: each document (a link to the page at the quote), the quote, its place. */
export function Mentions({ mentions }: { mentions: MentionView[] }) {
  return (
    <div class="mentions">
      <p class="label">
        Mentioned {mentions.length === 1 ? "once" : `${mentions.length} times`}
      </p>
      <ol class="mention-list">
        {mentions.map((mention, index) => {
          const place = quotePlace(mention);
          return (
            <li key={`${mention.document.id}-${index}`} class="mention">
              <a href={quoteLink(mention)} title="Open the document at this quote">
                {mention.document.title}
              </a>
              <span class="quote-place">
                {place ? ` · ${place}` : ""} · recorded {formatDateTime(mention.at)}
              </span>
              <span class="mention-quote">“{mention.sourceQuote}”</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
