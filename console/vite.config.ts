import { defineConfig } from "vite";

// Two pages: the console (index.html, Preact) and the GraphQL explorer (graphiql.html, React + GraphiQL),
// both served by the gateway from dist/. Nothing is loaded from a CDN.
export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      input: { console: "index.html", graphiql: "graphiql.html" },
      // GraphiQL's React dependencies mark themselves "use client" (for server rendering); harmless in a browser bundle.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
  server: {
    // `npx vite` during development: the gateway (make run) answers /graphql, HTTP and WebSocket.
    proxy: { "/graphql": { target: "http://127.0.0.1:8000", ws: true } },
  },
});
