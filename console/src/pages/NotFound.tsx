import { Page } from "../components/Page";

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>There is no page at this address.</p>
      <p>
        <a href="/">Go to the documents</a>
      </p>
    </Page>
  );
}
