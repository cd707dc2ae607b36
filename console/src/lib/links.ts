/** The document page with a passage highlighted: a search hit's or a citation's chunk, by its offsets. */
export function passageLink(hit: { document: { id: string }; startOffset: number; endOffset: number; page?: number | null }): string {
  const query = new URLSearchParams({ from: String(hit.startOffset), to: String(hit.endOffset) });
  if (hit.page != null) query.set("page", String(hit.page));
  return `/documents/${hit.document.id}?${query.toString()}`;
}
