import { snippetParts } from "../lib/text";

/** A search snippet with the matched words highlighted; the server's markup is never inserted as HTML. */
export function Snippet({ snippet }: { snippet: string }) {
  return (
    <>
      {snippetParts(snippet).map((part, index) => (part.marked ? <mark key={index}>{part.text}</mark> : part.text))}
    </>
  );
}
