/** The document page with a passage highlighted: a search hit's or a citation's chunk, by its offsets. */
export function passageLink(hit: { document: { id: string }; startOffset: number; endOffset: number; page?: number | null }): string {
  const query = new URLSearchParams({ from: String(hit.startOffset), to: String(hit.endOffset) });
  if (hit.page != null) query.set("page", String(hit.page));
  return `/documents/${hit.document.id}?${query.toString()}`;
}

/** The document page with a quote highlighted (a register mention): found in the text by its words. */
export function quoteLink(mention: { document: { id: string }; sourceQuote: string; page?: number | null; quoteTime?: string | null }): string {
  const query = new URLSearchParams({ quote: mention.sourceQuote });
  if (mention.page != null) query.set("page", String(mention.page));
  if (mention.quoteTime) query.set("time", mention.quoteTime);
  return `/documents/${mention.document.id}?${query.toString()}`;
}

/** Where a quote is in its document, in words: "page 2", "at 00:12:05", or nothing. */
export function quotePlace(quote: { page?: number | null; quoteTime?: string | null }): string | null {
  if (quote.page != null) return `page ${quote.page}`;
  return quote.quoteTime ? `at ${quote.quoteTime}` : null;
}
