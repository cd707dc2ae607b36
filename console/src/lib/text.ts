// Finding things in a document's extracted text: a quoted passage, or a chunk given by the server's offsets.

/** [start, end) in UTF-16 code units, as JavaScript strings index. */
export type Range = readonly [number, number];

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Where a quote sits in the text. Quotes are verbatim up to white space (the analysis checks that), so the words
 * must follow each other with any run of white space between them; case is ignored only if the exact case fails.
 */
export function findQuote(text: string, quote: string): Range | null {
  const words = quote.trim().split(/\s+/u).filter(Boolean).map(escapeRegExp);
  if (words.length === 0) return null;
  const pattern = words.join("\\s+");
  const match = new RegExp(pattern, "u").exec(text) ?? new RegExp(pattern, "iu").exec(text);
  return match ? [match.index, match.index + match[0].length] : null;
}

/**
 * The server counts offsets in Unicode code points (Python); a character beyond the Basic Multilingual Plane
 * (an emoji, some CJK) is two UTF-16 code units here. Converts [start, end) code points to code units.
 */
export function codePointRange(text: string, start: number, end: number): Range | null {
  if (start < 0 || end < start) return null;
  let units = 0;
  let points = 0;
  let from = -1;
  if (start === 0) from = 0;
  while (units < text.length && points < end) {
    const code = text.codePointAt(units) ?? 0;
    units += code > 0xffff ? 2 : 1;
    points += 1;
    if (points === start) from = units;
  }
  if (from < 0 || points < end) return null;
  return [from, units];
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };

/** A search snippet (HTML-escaped text with <mark>…</mark> around matched words) as plain parts to render. */
export function snippetParts(snippet: string): { text: string; marked: boolean }[] {
  const parts: { text: string; marked: boolean }[] = [];
  const unescape = (value: string) => value.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity] ?? entity);
  let marked = false;
  for (const piece of snippet.split(/(<\/?mark>)/)) {
    if (piece === "<mark>") marked = true;
    else if (piece === "</mark>") marked = false;
    else if (piece) parts.push({ text: unescape(piece), marked });
  }
  return parts;
}
