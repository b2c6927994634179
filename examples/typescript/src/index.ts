// Measures of the caller's regions by the status of their latest evaluation,
// with the operation's types generated from schema.graphql:
//
//   npm ci && npm run codegen && npm run build
//   KPSS_TOKEN=$(kpss token --sub skript --role viewer --region '*') npm start
import { graphql } from './gql/index.js';
import type { TypedDocumentString } from './gql/graphql.js';

const EvaluationByRegion = graphql(`
  query EvaluationByRegion($regions: [String!]) {
    evaluationSummary(filter: { regions: $regions }, groupBy: [REGION, STATUS]) {
      region { code name }
      status
      count
    }
  }
`);

const url = process.env.KPSS_URL ?? 'http://127.0.0.1:8080/graphql';
const token = process.env.KPSS_TOKEN;

/** One operation over HTTP; its result and variables typed by the document. */
async function request<Result, Variables>(
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: Result; errors?: { message: string; extensions?: { code?: string } }[] };
  const error = body.errors?.[0];
  if (error || !body.data) {
    throw new Error(`${error?.extensions?.code ?? response.status}: ${error?.message ?? 'no data'}`);
  }
  return body.data;
}

if (!token) {
  console.error('KPSS_TOKEN is needed');
  process.exit(2);
}
const regions = process.argv.slice(2);
const { evaluationSummary } = await request(EvaluationByRegion, { regions: regions.length ? regions : null });
for (const group of evaluationSummary) {
  // `status` is the schema's enum as a string union; `region` is nullable there.
  console.log([group.region?.code, group.status ?? 'NONE', group.count].join('\t'));
}
