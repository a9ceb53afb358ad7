// Doorman's hosted console (/console): signs the admin in with Auth0 (authorization
// code with PKCE, through auth0-spa-js) and shows <doorman-invitations>. The page
// carries its settings in data attributes of #console, so that no inline script is
// needed under its Content-Security-Policy.
import { Auth0Client } from '@auth0/auth0-spa-js';
// The component comes in its own script (the same bundle every admin page uses).
import type {} from './invitations.js';

const root = document.getElementById('console')!;
const cfg = root.dataset as { domain: string; clientId: string; audience: string; api: string };
const home = location.origin + location.pathname;

const auth0 = new Auth0Client({
  domain: cfg.domain,
  clientId: cfg.clientId,
  authorizationParams: { audience: cfg.audience, redirect_uri: home, scope: 'openid profile email' },
  authorizeTimeoutInSeconds: 10,
});

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function signedOut(message?: string) {
  const button = el('button', { type: 'button', class: 'primary' }, 'Sign in');
  button.addEventListener('click', () => void auth0.loginWithRedirect());
  root.replaceChildren(el('section', { class: 'intro' },
    el('h1', {}, 'Doorman console'),
    el('p', {}, 'Invite people to your application, follow their invitations, import a list and review access requests.'),
    el('p', {}, 'Sign in with your administrator account to start.'),
    ...(message ? [el('p', { role: 'alert', class: 'error' }, message)] : []),
    button));
  button.focus();
}

async function signedIn() {
  const user = await auth0.getUser();
  const out = el('button', { type: 'button' }, 'Sign out');
  out.addEventListener('click', () => void auth0.logout({ logoutParams: { returnTo: home } }));
  await customElements.whenDefined('doorman-invitations');
  const widget = document.createElement('doorman-invitations');
  widget.setAttribute('api-base', cfg.api);
  widget.getAccessToken = async () => (await auth0.getTokenSilently()) ?? '';
  root.replaceChildren(
    el('header', {}, el('h1', {}, 'Doorman console'), el('span', { class: 'who' }, user?.email ?? user?.name ?? ''), out),
    el('main', {}, widget));
}

async function start() {
  const q = new URLSearchParams(location.search);
  try {
    if (q.has('code') && q.has('state')) {
      await auth0.handleRedirectCallback();
      history.replaceState(null, '', home);
    } else if (q.has('error')) {
      history.replaceState(null, '', home);
      return signedOut(`Sign-in failed: ${q.get('error_description') ?? q.get('error')}`);
    } else {
      // After a reload: the Auth0 session signs the admin in again without a page
      // (a hidden iframe; nothing happens unless an earlier sign-in left its cookie).
      await auth0.checkSession().catch(() => undefined);
    }
    if (await auth0.isAuthenticated()) return await signedIn();
    signedOut();
  } catch (err) {
    signedOut(`Sign-in failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

void start();
