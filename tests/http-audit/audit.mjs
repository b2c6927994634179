// The GraphQL-over-HTTP server audits of graphql-http against a live
// server, with a bearer token on every request. Prints a JSON array of
// { id, name, status, reason }; the Rust test decides what passes.
// Usage: AUDIT_URL=http://127.0.0.1:PORT/graphql AUDIT_TOKEN=... node audit.mjs
import { serverAudits } from 'graphql-http';

const url = process.env.AUDIT_URL;
const token = process.env.AUDIT_TOKEN;
if (!url || !token) {
  console.error('AUDIT_URL and AUDIT_TOKEN are required');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = [];
for (const { fn } of serverAudits({ url, fetchFn })) {
  const { id, name, status, reason } = await fn();
  results.push({ id, name, status, reason: reason ?? null });
}
console.log(JSON.stringify(results));
