// Signing in with the office's identity provider, entirely in the page:
// Authorization Code with PKCE (S256), `state`, `nonce` and the RFC 9207
// `iss` check, by the vendored oauth4webapi. The provider and the pages'
// client come from /config.json. The access token goes where the pages keep
// a pasted one (sessionStorage, this tab only); it is renewed before it
// expires (refresh token, or a new sign-in when there is none).

import * as oauth from '/assets/vendor/oauth4webapi.js';
import { token } from '/assets/client.js';

const PENDING = 'kpss.signin.pending';
const SESSION = 'kpss.signin.session';
/** Renew this long before the access token expires. */
const EARLY_MS = 60_000;

let settings = null;
let server = null;
let renewal = null;

/** /config.json: `{ issuer, clientId, scope, pasteToken }`. */
export async function config() {
  if (!settings) {
    const response = await fetch('/config.json');
    settings = response.ok ? await response.json() : { pasteToken: true };
  }
  return settings;
}

/** Whether sign-in with a provider is configured. */
export const configured = (c) => Boolean(c.issuer && c.clientId);

const client = () => ({ client_id: settings.clientId });
const here = () => `${location.origin}${location.pathname}`;
// http only for a provider on this machine (tests, development), as the service allows.
const insecure = () => new URL(settings.issuer).protocol === 'http:';
const options = () => ({ [oauth.allowInsecureRequests]: insecure() });

/** Thrown when the provider cannot be reached. */
export class ProviderDown extends Error {}

async function authorizationServer() {
  if (server) return server;
  const issuer = new URL(settings.issuer);
  let response;
  try {
    response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options() });
  } catch (e) {
    throw new ProviderDown(`Poskytovatel přihlášení ${issuer.origin} není dostupný (${e.message}).`);
  }
  server = await oauth.processDiscoveryResponse(issuer, response);
  return server;
}

/** Leaves for the provider's sign-in page; comes back to this page. */
export async function signIn() {
  const as = await authorizationServer();
  const verifier = oauth.generateRandomCodeVerifier();
  const pending = {
    verifier,
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    redirect: here(),
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: settings.clientId,
    redirect_uri: pending.redirect,
    response_type: 'code',
    scope: settings.scope || 'openid',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
  }).toString();
  location.assign(url);
}

/**
 * Back from the provider (a `code` or `error` in the address): exchanges the
 * code for tokens and cleans the address. True when a sign-in completed.
 */
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  if (!pending || !(params.has('code') || params.has('error'))) return false;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', location.pathname);
  const as = await authorizationServer();
  const callback = oauth.validateAuthResponse(as, client(), new URL(`${pending.redirect}?${params}`), pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, client(), oauth.None(), callback, pending.redirect, pending.verifier, options());
  const result = await oauth.processAuthorizationCodeResponse(as, client(), response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  keep(result);
  return true;
}

function keep(result) {
  const previous = JSON.parse(sessionStorage.getItem(SESSION) || '{}');
  const session = {
    idToken: result.id_token ?? previous.idToken,
    refreshToken: result.refresh_token ?? previous.refreshToken,
    expiresAt: Date.now() + (result.expires_in ?? 300) * 1000,
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  token.set(result.access_token);
  scheduleRenewal(session);
}

/**
 * Renews the access token before it expires; `onLost(message)` when it
 * cannot (the provider is down, or there is no refresh token).
 */
let lost = () => {};
export function onSessionLost(callback) {
  lost = callback;
  const session = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
  if (session) scheduleRenewal(session);
}

function scheduleRenewal(session) {
  clearTimeout(renewal);
  const wait = Math.max(session.expiresAt - Date.now() - EARLY_MS, 1000);
  renewal = setTimeout(() => renew().catch((e) => lost(message(e))), wait);
}

/** A new access token with the refresh token, at once. */
export async function renew() {
  const session = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
  if (!session?.refreshToken) throw new Error('Přihlášení vypršelo. Přihlaste se znovu.');
  const as = await authorizationServer();
  const response = await oauth.refreshTokenGrantRequest(as, client(), oauth.None(), session.refreshToken, options());
  keep(await oauth.processRefreshTokenResponse(as, client(), response));
}

/** Clears the tab and ends the provider's session (leaves for its end-session page). */
export async function signOut() {
  clearTimeout(renewal);
  const session = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
  sessionStorage.removeItem(SESSION);
  sessionStorage.removeItem(PENDING);
  token.clear();
  if (!session) return;
  let as;
  try {
    as = await authorizationServer();
  } catch {
    return; // The provider is down: the tab is cleared all the same.
  }
  if (!as.end_session_endpoint) return;
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: settings.clientId,
    post_logout_redirect_uri: here(),
    ...(session.idToken ? { id_token_hint: session.idToken } : {}),
  }).toString();
  location.assign(url);
}

/** Whether this tab holds a provider's session. */
export const signedIn = () => Boolean(sessionStorage.getItem(SESSION));

/** A message for the user of an error of the sign-in. */
export function message(e) {
  if (e instanceof ProviderDown) return e.message;
  if (e instanceof oauth.AuthorizationResponseError) {
    return `Poskytovatel přihlášení odmítl přihlášení: ${e.error_description || e.error}.`;
  }
  if (e instanceof TypeError) return 'Poskytovatel přihlášení není dostupný.';
  return `Přihlášení se nezdařilo: ${e.message}`;
}
