// GraphiQL on the vendored React and GraphiQL builds (globals of their UMD
// files): queries go to /graphql with the token of the field above it,
// subscriptions over /graphql/ws.

import { post, subscribe, token } from '/assets/client.js';
import * as provider from '/assets/signin.js';

// The README's examples, one tab each (GraphiQL keeps the user's own tabs
// in localStorage after the first visit).
const EXAMPLES = [
  `# Vítejte v KPSS API. Vložte token do pole nahoře a spusťte dotaz (Ctrl+Enter).
# Token vytiskne: kpss token --sub jmeno --role viewer --region '*'
# Další záložky ukazují příklady z README.

query WhoAmI {
  me { subject role regions { code name } }
  regions { code name kraj { code name } }
}`,
  `# Lůžka ve všech viditelných regionech podle druhu služby
query BedsByServiceType {
  capacitySummary(filter: { units: [BEDS] }, groupBy: [REGION, SERVICE_TYPE]) {
    region { name } serviceType total services
  }
}`,
  `# Opatření Kroměříže, splněná v posledním hodnocení
query FulfilledMeasures {
  measures(filter: { regions: ["kromeriz"], status: FULFILLED }) {
    totalCount
    nodes { code title latestEvaluation { year comment } }
  }
}`,
  `# Hledání bez ohledu na diakritiku a velikost písmen
query Search {
  search(text: "pecovatelska", first: 10) { kind id title region { name } snippet }
}`,
  `# Plnění opatření podle regionu a plánu
query EvaluationByPlan {
  evaluationSummary(groupBy: [REGION, PLAN, STATUS]) {
    region { name } plan { title } status count
  }
}`,
  `# Živé změny (graphql-transport-ws na /graphql/ws); zapisovat může editor svého regionu
subscription Changes {
  changes { region { name } entity entityId action actor at }
}`,
];

/** The kind of each named operation of a document, and of an unnamed one under "". */
function operations(query) {
  const text = query.replace(/#[^\n]*/g, '');
  const named = [...text.matchAll(/\b(query|mutation|subscription)\s+([_A-Za-z]\w*)/g)];
  if (named.length) return new Map(named.map((m) => [m[2], m[1]]));
  return new Map([['', /^\s*subscription\b/.test(text) ? 'subscription' : 'query']]);
}

function fetcher(params, options = {}) {
  const bearer = token.get();
  const kinds = operations(params.query);
  // Right after a tab switch GraphiQL may still send the previous tab's
  // operation name: one the document does not define is dropped.
  if (!kinds.has(params.operationName ?? '')) {
    params = { ...params, operationName: kinds.size === 1 ? [...kinds.keys()][0] || undefined : undefined };
  }
  const kind = kinds.get(params.operationName ?? '') ?? 'query';
  if (kind === 'subscription') {
    return {
      subscribe(observer) {
        const stop = subscribe(params.query, params.variables, {
          onNext: (data) => observer.next({ data }),
          onError: (errors) => observer.next({ errors }),
          onState: (state) => state === 'unauthorized' && observer.error(new Error('4401: token není platný')),
        });
        return { unsubscribe: stop };
      },
    };
  }
  const headers = options.headers ?? {};
  return post(params, headers.Authorization ? null : bearer).then(({ json }) => json);
}

const root = ReactDOM.createRoot(document.getElementById('graphiql'));

function render() {
  // A new fetcher on every token change makes GraphiQL load the schema again.
  const current = (params, options) => fetcher(params, options);
  root.render(
    React.createElement(GraphiQL, {
      fetcher: current,
      defaultTabs: EXAMPLES.map((query) => ({ query })),
      defaultEditorToolsVisibility: true,
    }),
  );
}

const form = document.getElementById('token-form');
const field = document.getElementById('token');
const state = document.getElementById('token-state');

function showState() {
  state.textContent = token.get() ? 'Token je nastaven (jen v této záložce).' : 'Bez tokenu služba odpoví 401.';
}

field.value = token.get();
form.addEventListener('submit', (event) => {
  event.preventDefault();
  token.set(field.value);
  showState();
  render();
});
showState();

// Signing in with the provider (when configured); the paste field outside production only.
const settings = await provider.config();
form.hidden = !settings.pasteToken;
if (provider.configured(settings)) {
  const bar = document.getElementById('provider-bar');
  const button = document.getElementById('provider-button');
  const said = document.getElementById('provider-state');
  const show = () => {
    button.textContent = provider.signedIn() ? 'Odhlásit' : 'Přihlásit';
    said.textContent = provider.signedIn() ? 'Přihlášeno u poskytovatele identit.' : '';
  };
  const failed = (e) => { said.textContent = provider.message(e); };
  bar.hidden = false;
  button.addEventListener('click', () => {
    const leave = provider.signedIn() ? provider.signOut() : provider.signIn();
    leave.then(() => { show(); showState(); render(); }, failed);
  });
  provider.onSessionLost((message) => { said.textContent = message; });
  await provider.completeSignIn().catch(failed);
  show();
  showState();
}
render();
