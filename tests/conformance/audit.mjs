// Runs the GraphQL-over-HTTP spec's server audit (graphql-http's auditServer) against one URL and prints one JSON
// object: how many audits passed and, for every one that did not, its id, name, status and reason.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}

const results = await auditServer({ url });
const failures = [];
for (const result of results) {
  if (result.status !== 'ok') {
    failures.push({ id: result.id, name: result.name, status: result.status, reason: result.reason });
  }
}
console.log(JSON.stringify({ total: results.length, passed: results.length - failures.length, failures }));
