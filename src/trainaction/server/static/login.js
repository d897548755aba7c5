// The login page: a visit to /#/jobs/5 without a cookie is redirected to /login, and the browser
// keeps the #fragment; sign in back to it (the server only ever sees the path in `next`).
const next = document.querySelector('input[name=next]');
if (next && next.value === '/' && location.hash.startsWith('#/')) next.value = `/${location.hash}`;
