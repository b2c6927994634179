// The pages' connection to the service: the token (kept in sessionStorage
// only), GraphQL over HTTP, and `changes` over graphql-transport-ws. Same
// origin only: nothing here talks to any other host.

const TOKEN_KEY = 'kpss.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error the service answered with; `code` is its `extensions.code`. */
export class ApiError extends Error {
  constructor(message, code, status, extensions = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.extensions = extensions;
  }
}

/** The JSON body of a GraphQL request, as the service answers it. */
export async function post(body, bearer = token.get()) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  if (!json) throw new ApiError(`HTTP ${response.status}`, 'INTERNAL', response.status);
  return { status: response.status, json };
}

/** `data` of a query, or an ApiError with the first error's code. */
export async function graphql(query, variables = {}) {
  return answered(await post({ query, variables }));
}

/**
 * `data` of an operation whose variable `file` is a file, sent as a
 * multipart request (the GraphQL multipart request spec).
 */
export async function upload(query, variables, file, bearer = token.get()) {
  const body = new FormData();
  body.append('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
  body.append('map', JSON.stringify({ 0: ['variables.file'] }));
  body.append('0', file, file.name);
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: {
      Accept: 'application/graphql-response+json, application/json',
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
    },
    body,
  });
  const json = await response.json().catch(() => null);
  if (!json) throw new ApiError(`HTTP ${response.status}`, 'INTERNAL', response.status);
  return answered({ status: response.status, json });
}

function answered({ status, json }) {
  if (json.errors?.length) {
    const [e] = json.errors;
    throw new ApiError(e.message, e.extensions?.code ?? 'INTERNAL', status, e.extensions);
  }
  return json.data;
}

/**
 * Downloads a file the service makes (a plan's document): fetched with the
 * token (a link cannot carry it), then saved from a Blob under the name
 * the service gives in `Content-Disposition` (`filename*`, RFC 6266).
 */
export async function download(path, fallbackName, bearer = token.get()) {
  const response = await fetch(path, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });
  if (!response.ok) {
    const json = await response.json().catch(() => null);
    const e = json?.errors?.[0];
    throw new ApiError(e?.message ?? `HTTP ${response.status}`, e?.extensions?.code ?? 'INTERNAL', response.status);
  }
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const name = encoded ? decodeURIComponent(encoded) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** WebSocket close code of a missing, bad or expired token. */
export const CLOSE_UNAUTHORIZED = 4401;

/**
 * Subscribes over graphql-transport-ws at /graphql/ws and reconnects after a
 * lost connection. Calls `onNext(data)` per event and `onState(state)` with
 * 'connecting', 'open', 'closed' or 'unauthorized'. Returns a function that stops.
 */
export function subscribe(query, variables, { onNext, onError = () => {}, onState = () => {} }) {
  let socket = null;
  let stopped = false;
  let retry = 500;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;
  const connect = () => {
    onState('connecting');
    socket = new WebSocket(url, 'graphql-transport-ws');
    const send = (message) => socket.send(JSON.stringify(message));
    let used = '';
    socket.onopen = () => {
      used = token.get();
      send({ type: 'connection_init', payload: { Authorization: `Bearer ${used}` } });
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      switch (message.type) {
        case 'connection_ack':
          retry = 500;
          onState('open');
          send({ id: '1', type: 'subscribe', payload: { query, variables } });
          break;
        case 'ping':
          send({ type: 'pong' });
          break;
        case 'next':
          if (message.payload.errors?.length) onError(message.payload.errors);
          else onNext(message.payload.data);
          break;
        case 'error':
          onError(message.payload);
          break;
      }
    };
    socket.onclose = (event) => {
      if (stopped) return;
      // The socket's token expired, but the page has renewed it meanwhile: go on with the new one.
      if (event.code === CLOSE_UNAUTHORIZED && token.get() && token.get() !== used) {
        connect();
        return;
      }
      if (event.code === CLOSE_UNAUTHORIZED) {
        onState('unauthorized');
        return;
      }
      onState('closed');
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  };
  connect();
  return () => {
    stopped = true;
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: '1', type: 'complete' }));
    socket?.close(1000);
  };
}
