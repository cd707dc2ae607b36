// The GraphQL client: urql over HTTP for queries and mutations, graphql-ws for subscriptions, both carrying the
// session's access token (refreshed before it expires, and once more if the server refuses it).

import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { authExchange } from "@urql/exchange-auth";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { REFRESH_MARGIN_MS, freshSession, getSession, refreshSession } from "./session";

export const GRAPHQL_PATH = "/graphql";

export function websocketUrl(): string {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export interface ConsoleClient {
  client: Client;
  dispose: () => void;
}

/** A client for one signed-in session (or none); dispose it when the session ends, so nothing cached survives. */
export function createConsoleClient(): ConsoleClient {
  const ws: WsClient = createWsClient({
    url: websocketUrl(),
    lazy: true,
    // Read when (re)connecting: a reconnect after the token rotated presents the new one.
    connectionParams: async () => {
      const session = await freshSession();
      return session ? { Authorization: `Bearer ${session.accessToken}` } : {};
    },
    retryAttempts: 8,
    shouldRetry: () => true,
  });
  const client = new Client({
    url: GRAPHQL_PATH,
    requestPolicy: "cache-and-network",
    exchanges: [
      cacheExchange,
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          const session = getSession();
          return session ? utils.appendHeaders(operation, { Authorization: `Bearer ${session.accessToken}` }) : operation;
        },
        willAuthError() {
          const session = getSession();
          return session !== null && session.expiresAt - Date.now() <= REFRESH_MARGIN_MS;
        },
        didAuthError(error) {
          return error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
        },
        async refreshAuth() {
          const session = getSession();
          if (!session) return;
          // Expiring soon: rotate. Refused by the server although fresh: rotate that one too.
          const refused = session.expiresAt - Date.now() > REFRESH_MARGIN_MS ? session.accessToken : undefined;
          await refreshSession(refused).catch(() => undefined);
        },
      })),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const operation = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(operation, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, dispose: () => void ws.dispose() };
}
