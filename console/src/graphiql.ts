// The GraphQL explorer, bundled from npm (React and GraphiQL) instead of loaded from a CDN, so it works
// wherever the gateway does. Signed in to the console in this browser? The headers start with your token.

import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { GRAPHQL_PATH, websocketUrl } from "./lib/client";
import { freshSession } from "./lib/session";

const EXAMPLE = `# The public GraphQL API of PM Document Intelligence.
# Sign in with the mutation below, then put the accessToken in the Headers tab:
#   {"Authorization": "Bearer <accessToken>"}
# Subscriptions (documentEvents) use the same header as their connection parameters.

mutation SignIn {
  login(email: "you@example.com", password: "your password") {
    accessToken
    expiresIn
    user { id name role organization { name } }
  }
}

query MyDocuments {
  documents(first: 10) {
    totalCount
    nodes { id title status progress pageCount }
  }
}
`;

async function start(): Promise<void> {
  const root = document.getElementById("graphiql");
  if (!root) return;
  const session = await freshSession().catch(() => null);
  const headers = session ? JSON.stringify({ Authorization: `Bearer ${session.accessToken}` }, null, 2) : undefined;
  const fetcher = createGraphiQLFetcher({
    url: new URL(GRAPHQL_PATH, window.location.href).toString(),
    subscriptionUrl: websocketUrl(),
  });
  root.textContent = "";
  createRoot(root).render(
    createElement(GraphiQL, {
      fetcher,
      defaultQuery: EXAMPLE,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: headers ? "headers" : true,
      shouldPersistHeaders: false,
    }),
  );
}

void start();
