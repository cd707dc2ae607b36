// The register pages, loaded when one is first opened: the first page's JavaScript stays as it was.
export { ActionItemsPage } from "./ActionItems";
export { DecisionsPage } from "./Decisions";
export { RisksPage } from "./Risks";
