// The dashboard's one way to the server: the public REST API under /api/v1, authenticated by the
// login cookie (HttpOnly; the page never sees the token).

const BASE = '/api/v1';

function url(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined) params.append(key, String(value));
  }
  const qs = params.toString();
  return BASE + path + (qs ? `?${qs}` : '');
}

async function request(path, query, accept) {
  const response = await fetch(url(path, query), {credentials: 'same-origin', headers: {Accept: accept}});
  if (response.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.hash || '#/jobs')}`);
    throw new Error('not signed in');
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
    } catch (_) { /* not JSON: keep the status line */ }
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return response;
}

/** The parsed JSON of GET /api/v1{path}; `query` values null/undefined are left out. */
export async function get(path, query = {}) {
  return (await request(path, query, 'application/json')).json();
}

/** The text of GET /api/v1{path} (a text/plain answer such as the job log). */
export async function text(path, query = {}) {
  return (await request(path, query, 'text/plain')).text();
}

/** The URL of a download under /api/v1 (the cookie authenticates it); each part of `path` is encoded here. */
export function fileUrl(path) {
  return BASE + path.split('/').map((part) => encodeURIComponent(part)).join('/');
}
