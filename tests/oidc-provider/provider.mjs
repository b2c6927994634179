// A real OpenID provider for the tests (panva's oidc-provider) on loopback.
// Environment:
//   PORT           port to listen on (0: any free one)
//   KEYS           comma-separated paths of PEM private keys (RSA or P-256);
//                  a key's `kid` is its file name without `.pem`; the first
//                  RSA key signs RS256 tokens, the first EC key ES256 tokens
//   REDIRECT_URIS  comma-separated redirect URIs of the pages' public client
//   ACCESS_TTL     lifetime of access tokens in seconds (default 600)
// Prints `ready <issuer>` once it listens.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename } from 'node:path';
import Provider, { errors } from 'oidc-provider';

// The API's resource indicator and audience.
const API = 'https://kpss.test/api';
const OTHER_API = 'https://other.test/api';
const AUDIENCES = { [API]: 'kpss-api', [OTHER_API]: 'other-api' };

// KPSS's own claims and the same as groups, as a claim mapper would put them.
const USERS = {
  'editor-klatovy': { role: 'editor', regions: ['klatovy'], groups: ['/kpss/klatovy/editor'] },
  'viewer-cz072': { role: 'viewer', kraje: ['CZ072'], groups: ['/kpss/CZ072/viewer'] },
};
// Confidential clients for scripts, with the claims of their tokens.
const SCRIPTS = {
  'kpss-script': { role: 'viewer', regions: ['*'] },
  'kpss-script-es256': { role: 'viewer', regions: ['klatovy'] },
  'kpss-script-groups': { groups: ['/kpss/klatovy/editor', '/kpss/CZ072/viewer', '/kpss/No Such Region/editor'] },
  'kpss-script-unmapped': { groups: ['/another-app/admins'] },
};
const SCRIPT_SECRET = 'script-secret-script-secret-0123456789';

const keys = (process.env.KEYS || '').split(',').filter(Boolean).map((path) => {
  const jwk = createPrivateKey(readFileSync(path)).export({ format: 'jwk' });
  return { ...jwk, kid: basename(path, '.pem'), use: 'sig', alg: jwk.kty === 'RSA' ? 'RS256' : 'ES256' };
});
const redirectUris = (process.env.REDIRECT_URIS || 'http://127.0.0.1/').split(',').filter(Boolean);
const accessTtl = Number(process.env.ACCESS_TTL || 600);

const server = createServer();
await new Promise((ok) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    {
      client_id: 'kpss-pages',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: redirectUris,
    },
    ...Object.keys(SCRIPTS).map((client_id) => ({
      client_id,
      client_secret: SCRIPT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
  ],
  async findAccount(_ctx, sub) {
    if (!USERS[sub]) return undefined;
    return { accountId: sub, claims: async () => ({ sub }) };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource, client) => {
        if (!AUDIENCES[resource]) throw new errors.InvalidTarget();
        return {
          scope: 'kpss',
          audience: AUDIENCES[resource],
          accessTokenTTL: accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: client.clientId.endsWith('-es256') ? 'ES256' : 'RS256' } },
        };
      },
    },
  },
  // KPSS's claims in the API's access tokens (a provider's claim mapper).
  async extraTokenClaims(_ctx, token) {
    return token.accountId ? USERS[token.accountId] : SCRIPTS[token.clientId];
  },
  // The pages are first-party: no consent screen, only the login form.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(API, 'kpss');
    await grant.save();
    return grant;
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  clientBasedCORS: (_ctx, origin, client) =>
    client.redirectUris.some((uri) => new URL(uri).origin === origin),
  pkce: { required: () => true },
  ttl: { AccessToken: accessTtl, ClientCredentials: accessTtl, Session: 3600, Grant: 3600, Interaction: 600, RefreshToken: 3600 },
});
server.on('request', provider.callback());
console.log(`ready ${issuer}`);
