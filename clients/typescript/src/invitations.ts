// <doorman-invitations>: Doorman's drop-in admin component. A custom element with a
// shadow root, no framework: an admin page sets `api-base` and a `getAccessToken`
// callback and gets the invite form with a role picker, the list (status filter, email
// search, cursor paging, status and delivery badges, history, resend, revoke, copy
// link), the bulk CSV import with its dry-run preview and progress, the access-request
// queue and the webhook endpoints. Theming: the --doorman-* custom properties and the
// parts named in `part` attributes.
import { DoormanClient, DoormanError, type AccessRequest, type AccessRequestList, type AccessRequestQuery, type ApproveBody, type Batch, type CreateInvitation, type CreateWebhookEndpoint, type DryRun, type EventType, type Invitation, type Role, type WebhookAttempt, type WebhookEndpoint } from './client.js';

const STATUSES = ['pending', 'accepted', 'expired', 'revoked', 'failed'];
const REQUEST_STATUSES = ['pending', 'approved', 'denied', 'expired'];
// How long an approval's invitation stays open: the service's default, or days.
const TTL_DAYS = [1, 7, 14, 30];
const DAY = 86400;
const TABS = [
  ['invitations', 'Invitations'],
  ['import', 'Import CSV'],
  ['requests', 'Access requests'],
  ['webhooks', 'Webhooks'],
] as const;
type Tab = (typeof TABS)[number][0];
const PAGE = 50;
const POLL_MS = 1000;

const CSS = `
:host{--doorman-accent:#1f5fbf;--doorman-accent-text:#fff;--doorman-text:#1b1b1f;--doorman-muted:#545763;--doorman-bg:#fff;
--doorman-border:#c9ccd4;--doorman-radius:6px;--doorman-font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
display:block;font-family:var(--doorman-font);color:var(--doorman-text);background:var(--doorman-bg);font-size:15px;line-height:1.45}
*{box-sizing:border-box}
h2{font-size:1.1em;margin:1.2em 0 .5em}
[role=tablist]{display:flex;gap:.25em;border-bottom:1px solid var(--doorman-border);overflow-x:auto}
[role=tab]{border:0;background:none;padding:.6em .9em;font:inherit;color:var(--doorman-muted);border-bottom:3px solid transparent;cursor:pointer;white-space:nowrap}
[role=tab][aria-selected=true]{color:var(--doorman-text);border-bottom-color:var(--doorman-accent);font-weight:600}
button,input,select,textarea{font:inherit;color:inherit}
input,select,textarea{border:1px solid var(--doorman-border);border-radius:var(--doorman-radius);padding:.45em .6em;background:var(--doorman-bg);min-width:0}
textarea{width:100%}
button{border:1px solid var(--doorman-border);border-radius:var(--doorman-radius);background:var(--doorman-bg);padding:.4em .75em;cursor:pointer}
button.primary{background:var(--doorman-accent);border-color:var(--doorman-accent);color:var(--doorman-accent-text);font-weight:600}
button.danger{color:#a4161a;border-color:#d9a0a2}
button:disabled{opacity:.55;cursor:default}
:focus-visible{outline:3px solid var(--doorman-accent);outline-offset:2px}
form.invite{display:grid;grid-template-columns:repeat(auto-fit,minmax(14em,1fr));gap:.75em;align-items:end}
label{display:flex;flex-direction:column;gap:.2em;font-size:.92em;color:var(--doorman-muted)}
label.check{flex-direction:row;align-items:center;gap:.4em;color:var(--doorman-text)}
fieldset{border:1px solid var(--doorman-border);border-radius:var(--doorman-radius);padding:.4em .7em;margin:0;display:flex;flex-wrap:wrap;gap:.3em 1em}
legend{font-size:.92em;color:var(--doorman-muted);padding:0 .3em}
.bar{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin:.5em 0}
.status{min-height:1.5em;margin:.6em 0;color:var(--doorman-text)}
.status.error{color:#a4161a}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.5em .4em;border-bottom:1px solid var(--doorman-border);vertical-align:top;overflow-wrap:anywhere}
th{font-size:.85em;color:var(--doorman-muted);font-weight:600}
td .sub{display:block;color:var(--doorman-muted);font-size:.88em}
.actions{display:flex;flex-wrap:wrap;gap:.3em}
.actions button{padding:.25em .55em;font-size:.9em}
.badge{display:inline-block;padding:.1em .55em;border-radius:999px;font-size:.82em;font-weight:600;background:#ececf0;color:#33353d;white-space:nowrap}
.b-pending,.b-sending,.b-queued,.b-running{background:#fff1c2;color:#5a4300}
.b-accepted,.b-sent,.b-delivered,.b-new,.b-succeeded,.b-done,.b-approved{background:#dcf3dc;color:#135c13}
.b-failed,.b-bounced,.b-complained,.b-suppressed,.b-invalid,.b-not_grantable,.b-undeliverable,.b-denied{background:#fde2e4;color:#8a1020}
.b-enabled{background:#dcf3dc;color:#135c13}
.b-retrying{background:#fff1c2;color:#5a4300}
.b-dead_lettered{background:#fde2e4;color:#8a1020}
.secret{border:2px solid var(--doorman-accent);border-radius:var(--doorman-radius);padding:.6em .8em;margin:.8em 0}
.secret h3{font-size:1em;margin:.1em 0 .4em}
.secret p{margin:.2em 0 .5em}
table.hooks{margin-top:1.2em}
.secret code{font-size:.95em;overflow-wrap:anywhere}
.b-existing_account,.b-already_pending{background:#dde9fb;color:#143f7a}
tr.history td{background:#f6f7f9}
tr.open td{border-bottom:0}
ol.events{margin:0;padding-left:1.2em}
ol.events li{margin:.15em 0}
nav.pages{display:flex;gap:.6em;align-items:center;margin:.8em 0}
.empty{color:var(--doorman-muted);padding:1em 0}
.hint{color:var(--doorman-muted);margin:.2em 0 .6em}
label.grow{flex:1 1 16em}
h2[tabindex]:focus{outline:none}
progress{width:100%;height:1.2em}
.results>button{margin:.8em 0}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
input.link{width:100%}
@media (max-width:640px){
 thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 table,tbody,tr,td{display:block;width:100%}
 tr{border-bottom:1px solid var(--doorman-border);padding:.4em 0}
 td{border:0;padding:.2em 0}
 td[data-label]::before{content:attr(data-label) ": ";color:var(--doorman-muted);font-size:.85em}
 form.invite{grid-template-columns:1fr}
 [role=tablist]{flex-wrap:wrap}
}`;

type Child = Node | string | null | undefined | false;
type Props = Record<string, unknown>;

/** h builds an element: on* props are listeners, a few are properties, the rest attributes. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'value' || k === 'checked' || k === 'disabled') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const badge = (kind: string, value: string, label = value.replace(/_/g, ' ')) =>
  h('span', { class: `badge b-${value}`, part: `badge ${kind}-badge ${kind}-${value}` }, label);

// One formatter and one style sheet for every row and every instance.
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const when = (t?: string) => (t ? dates.format(new Date(t)) : '');
let sheet: CSSStyleSheet | undefined;

/** parseCSV reads rows of comma-separated fields with RFC 4180 quoting. */
export function parseCSV(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

/** csvLines returns the 1-based line of the CSV text each invitation of csvInvitations comes from. */
export function csvLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let quoted = false;
  let start = 0;
  let blank = true;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (i === text.length || (!quoted && c === '\n')) {
      if (!blank) lines.push(start);
      line++;
      blank = true;
      continue;
    }
    if (blank && c.trim() !== '' && c !== ',') {
      blank = false;
      start = line;
    }
    if (c === '\n') line++;
  }
  const first = parseCSV(text)[0]?.[0]?.trim().toLowerCase();
  return first === 'email' ? lines.slice(1) : lines;
}

/** csvInvitations turns CSV rows (email, name, roles separated by ;) into create bodies. */
export function csvInvitations(text: string, defaultRoles: string[]): CreateInvitation[] {
  const rows = parseCSV(text);
  if (rows.length && rows[0][0]?.trim().toLowerCase() === 'email') rows.shift();
  return rows.map(([email = '', name = '', roles = '']) => {
    const inv: CreateInvitation = { email: email.trim() };
    if (name.trim()) inv.name = name.trim();
    const r = roles.split(';').map((x) => x.trim()).filter(Boolean);
    if (r.length || defaultRoles.length) inv.roles = r.length ? r : defaultRoles;
    return inv;
  });
}

export class DoormanInvitations extends HTMLElement {
  static observedAttributes = ['api-base', 'organization-id'];
  readonly #root: ShadowRoot;
  #tokenFn?: () => string | Promise<string>;
  #client?: DoormanClient;
  #tab: Tab = 'invitations';
  #roles: Role[] = [];
  #status!: HTMLElement;
  #panel!: HTMLElement;
  #filter = { status: '', email: '' };
  #cursors: (string | undefined)[] = [undefined];
  #page = 0;
  #list?: { invitations: Invitation[]; next_cursor?: string };
  #open = new Map<string, Invitation | null>();
  #armed = '';
  #preview?: { items: CreateInvitation[]; lines: number[]; result: DryRun };
  #batch?: Batch;
  #poll = 0;
  // The access-request queue: undefined until loaded, null where the API has no such routes.
  #requests?: AccessRequestList | null;
  #rqFilter = { status: 'pending', email: '' };
  #rqCursors: (string | undefined)[] = [undefined];
  #rqPage = 0;
  #deciding = '';
  #hooks?: WebhookEndpoint[] | null;
  // A secret just created or rotated: shown this once, until dismissed.
  #secret?: { url: string; secret: string; rotated: boolean };
  #hookArmed = '';
  // The endpoint whose attempts are open, and them (undefined while loading).
  #attemptsOf = '';
  #attempts?: WebhookAttempt[];
  // The parts of a panel that change without its forms being rebuilt (which would
  // lose what the admin typed).
  readonly #listBox = h('div', { class: 'list' });
  readonly #importBox = h('div', { class: 'results' });
  readonly #requestsBox = h('div', { class: 'list' });
  readonly #hooksBox = h('div', { class: 'list' });

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
  }

  /** The callback that returns the admin's access token for Doorman's API. */
  set getAccessToken(fn: (() => string | Promise<string>) | undefined) {
    this.#tokenFn = fn;
    this.#start();
  }
  get getAccessToken() {
    return this.#tokenFn;
  }

  connectedCallback() {
    if (!this.#root.firstChild) this.#shell();
    this.#start();
  }

  disconnectedCallback() {
    clearTimeout(this.#poll);
  }

  attributeChangedCallback() {
    this.#client = undefined;
    this.#start();
  }

  get #org() {
    return this.getAttribute('organization-id') || undefined;
  }

  #start() {
    const base = this.getAttribute('api-base') ?? '';
    if (!this.isConnected || !this.#tokenFn || this.#client) return;
    this.#client = new DoormanClient({ baseUrl: base || location.origin, getAccessToken: () => this.#tokenFn!() });
    void this.#loadRoles();
    void this.#loadList();
  }

  #shell() {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    this.#root.adoptedStyleSheets = [sheet];
    const tabs = h('div', { role: 'tablist', 'aria-label': 'Doorman administration', part: 'tabs', onkeydown: (e: KeyboardEvent) => this.#tabKey(e) },
      TABS.map(([id, label]) => h('button', { role: 'tab', id: `tab-${id}`, 'aria-controls': 'panel', part: 'tab', onclick: () => this.#select(id) }, label)));
    this.#status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', part: 'status' });
    this.#panel = h('section', { id: 'panel', role: 'tabpanel', part: 'panel' });
    this.#root.append(h('div', { part: 'container' }, tabs, this.#status, this.#panel));
    this.#render();
  }

  #tabKey(e: KeyboardEvent) {
    const i = TABS.findIndex(([id]) => id === this.#tab);
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : (i + step + TABS.length) % TABS.length;
    this.#select(TABS[next][0]);
    (this.#root.getElementById(`tab-${TABS[next][0]}`) as HTMLElement).focus();
  }

  #select(tab: Tab) {
    if (tab !== this.#tab) this.#say('');
    this.#tab = tab;
    this.#render();
    // The queue reloads each time: people ask while the console is open.
    if (tab === 'requests') void this.#loadRequests();
    if (tab === 'webhooks') void this.#loadHooks();
  }

  #say(msg: string, error = false) {
    this.#status.textContent = msg;
    this.#status.classList.toggle('error', error);
  }

  #fail(err: unknown) {
    const msg = err instanceof DoormanError ? `${err.message}${err.problem.field ? ` (${err.problem.field})` : ''}` : String(err);
    this.#say(msg, true);
  }

  #render() {
    for (const [id] of TABS) {
      const t = this.#root.getElementById(`tab-${id}`)!;
      t.setAttribute('aria-selected', String(id === this.#tab));
      t.tabIndex = id === this.#tab ? 0 : -1;
    }
    this.#panel.setAttribute('aria-labelledby', `tab-${this.#tab}`);
    const view = { invitations: () => this.#invitationsView(), import: () => this.#importView(), requests: () => this.#requestsView(), webhooks: () => this.#hooksView() }[this.#tab];
    this.#panel.replaceChildren(...view());
  }

  // --- roles -------------------------------------------------------------------

  async #loadRoles() {
    try {
      this.#roles = await this.#client!.roles(this.#org);
      // Only the pickers change: the forms keep what was typed.
      for (const f of this.#panel.querySelectorAll<HTMLFieldSetElement>('fieldset[data-name]')) {
        f.replaceWith(this.#rolePicker(f.dataset.name!, f.dataset.legend));
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  #rolePicker(name: string, legend = 'Roles') {
    return h('fieldset', { part: 'roles', 'data-name': name, 'data-legend': legend }, h('legend', {}, legend),
      this.#roles.length
        ? this.#roles.map((r) => h('label', { class: 'check', title: r.description }, h('input', { type: 'checkbox', name, value: r.id }), r.name))
        : h('span', { class: 'sub' }, 'No roles you may grant'));
  }

  static #checked(form: HTMLFormElement, name: string) {
    return [...form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((i) => i.value);
  }

  // --- invitations -------------------------------------------------------------

  #invitationsView(): Node[] {
    const form = h('form', { class: 'invite', part: 'form invite-form', 'aria-labelledby': 'invite-h', onsubmit: (e: Event) => this.#invite(e) },
      h('label', {}, 'Email address', h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off', part: 'input' })),
      h('label', {}, 'Name (optional)', h('input', { type: 'text', name: 'name', autocomplete: 'off', part: 'input' })),
      this.#rolePicker('role'),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'send', checked: true }), 'Email the invitation'),
      h('button', { type: 'submit', class: 'primary', part: 'button primary-button' }, 'Send invitation'));
    const filters = h('form', { class: 'bar', role: 'search', 'aria-label': 'Filter invitations', onsubmit: (e: Event) => this.#search(e) },
      h('label', {}, 'Status', h('select', { name: 'status', part: 'input', onchange: (e: Event) => this.#search(e) },
        h('option', { value: '' }, 'All'), STATUSES.map((s) => h('option', { value: s, selected: this.#filter.status === s }, s)))),
      h('label', {}, 'Email', h('input', { type: 'search', name: 'email', value: this.#filter.email, placeholder: 'name@example.com', part: 'input' })),
      h('button', { type: 'submit', part: 'button' }, 'Search'));
    this.#renderList();
    return [h('h2', { id: 'invite-h' }, 'Invite someone'), form, h('h2', { id: 'list-h' }, 'Invitations'), filters, this.#listBox];
  }

  #renderList() {
    this.#listBox.replaceChildren(this.#table());
  }

  #table(): Node {
    const list = this.#list;
    if (!list) return h('p', { class: 'empty' }, 'Loading invitations…');
    if (!list.invitations.length) {
      return h('p', { class: 'empty', part: 'empty' }, this.#filter.status || this.#filter.email ? 'No invitation matches.' : 'No invitations yet: invite someone with the form above.');
    }
    const rows = list.invitations.flatMap((inv) => this.#row(inv));
    return h('div', {},
      h('table', { part: 'table', 'aria-labelledby': 'list-h' },
        h('thead', {}, h('tr', {}, ['Email', 'Status', 'Delivery', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)),
      h('nav', { class: 'pages', 'aria-label': 'Invitation pages', part: 'pager' },
        h('button', { type: 'button', part: 'button', disabled: this.#page === 0, onclick: () => this.#go(-1) }, 'Previous page'),
        h('span', {}, `Page ${this.#page + 1}`),
        h('button', { type: 'button', part: 'button', disabled: !list.next_cursor, onclick: () => this.#go(1) }, 'Next page')));
  }

  #row(inv: Invitation): Node[] {
    const pending = inv.status === 'pending';
    const open = this.#open.has(inv.id);
    const who = inv.email;
    const tr = h('tr', { 'data-id': inv.id, part: 'row' },
      h('td', { 'data-label': 'Email' }, who, inv.name ? h('span', { class: 'sub' }, inv.name) : null),
      h('td', { 'data-label': 'Status' }, badge('status', inv.status)),
      h('td', { 'data-label': 'Delivery' }, badge('delivery', inv.delivery.status)),
      h('td', { 'data-label': 'Created' }, h('time', { datetime: inv.created_at }, when(inv.created_at))),
      h('td', {}, h('div', { class: 'actions' },
        h('button', { type: 'button', part: 'button', 'aria-expanded': String(open), 'aria-label': `History of ${who}`, onclick: () => this.#history(inv.id) }, 'History'),
        pending && h('button', { type: 'button', part: 'button', 'aria-label': `Resend to ${who}`, onclick: () => this.#act(inv, 'resend') }, 'Resend'),
        pending && h('button', { type: 'button', part: 'button', 'aria-label': `Copy link for ${who}`, onclick: () => this.#copy(inv) }, 'Copy link'),
        pending && h('button', { type: 'button', class: 'danger', part: 'button danger-button', 'aria-label': `${this.#armed === inv.id ? 'Confirm revoke' : 'Revoke'} ${who}`, onclick: () => this.#revoke(inv) },
          this.#armed === inv.id ? 'Confirm revoke' : 'Revoke'))));
    if (!open) return [tr];
    const full = this.#open.get(inv.id);
    const body = full
      ? h('ol', { class: 'events', 'aria-label': `History of ${who}` }, full.history.map((e) =>
        h('li', {}, h('strong', {}, e.event.replace(/_/g, ' ')), ` · ${when(e.at)} · ${e.actor}`, e.detail ? ` · ${e.detail}` : '')))
      : 'Loading history…';
    return [tr, h('tr', { class: 'history', part: 'history' }, h('td', { colspan: 5 }, body))];
  }

  async #loadList() {
    try {
      this.#list = await this.#client!.listInvitations({
        limit: PAGE, status: (this.#filter.status || undefined) as Invitation['status'] | undefined,
        email: this.#filter.email || undefined, organization_id: this.#org, cursor: this.#cursors[this.#page],
      });
    } catch (err) {
      this.#list = { invitations: [] };
      this.#fail(err);
    }
    this.#renderList();
  }

  #search(e: Event) {
    e.preventDefault();
    const form = (e.target as HTMLElement).closest('form')!;
    this.#filter = { status: (form.elements.namedItem('status') as HTMLSelectElement).value, email: (form.elements.namedItem('email') as HTMLInputElement).value.trim() };
    this.#cursors = [undefined];
    this.#page = 0;
    void this.#loadList();
  }

  #go(step: number) {
    if (step > 0 && this.#list?.next_cursor) this.#cursors[this.#page + 1] = this.#list.next_cursor;
    this.#page = Math.max(0, this.#page + step);
    void this.#loadList();
  }

  async #invite(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const email = (form.elements.namedItem('email') as HTMLInputElement).value.trim();
    const name = (form.elements.namedItem('name') as HTMLInputElement).value.trim();
    const body: CreateInvitation = { email, roles: DoormanInvitations.#checked(form, 'role') };
    if (name) body.name = name;
    if (this.#org) body.organization_id = this.#org;
    if (!(form.elements.namedItem('send') as HTMLInputElement).checked) body.send_email = false;
    try {
      const inv = await this.#client!.createInvitation(body);
      form.reset();
      this.#say(inv.accept_url ? `Invited ${email}. Their link: ${inv.accept_url}` : `Invited ${email}: the invitation is ${inv.status}.`);
      this.#cursors = [undefined];
      this.#page = 0;
      await this.#loadList();
    } catch (err) {
      this.#fail(err);
    }
  }

  async #history(id: string) {
    if (this.#open.has(id)) {
      this.#open.delete(id);
      this.#renderList();
      return;
    }
    this.#open.set(id, null);
    this.#renderList();
    try {
      this.#open.set(id, await this.#client!.getInvitation(id));
    } catch (err) {
      this.#open.delete(id);
      this.#fail(err);
    }
    this.#renderList();
  }

  async #act(inv: Invitation, what: 'resend' | 'revoke') {
    try {
      const out = what === 'resend' ? await this.#client!.resendInvitation(inv.id) : await this.#client!.revokeInvitation(inv.id);
      this.#say(what === 'resend' ? `Sent ${inv.email} a new link.` : `Revoked the invitation of ${inv.email}.`);
      this.#replace(out);
    } catch (err) {
      this.#fail(err);
    }
  }

  #revoke(inv: Invitation) {
    if (this.#armed !== inv.id) {
      this.#armed = inv.id;
      this.#say(`Press Confirm revoke to revoke the invitation of ${inv.email}.`);
      this.#renderList();
      this.#refocus(inv.id, 'button.danger');
      return;
    }
    this.#armed = '';
    void this.#act(inv, 'revoke');
  }

  async #copy(inv: Invitation) {
    try {
      const out = await this.#client!.createTicket(inv.id);
      const url = out.accept_url ?? '';
      try {
        await navigator.clipboard.writeText(url);
        this.#say(`Copied the link for ${inv.email}. It replaces the emailed one.`);
      } catch {
        this.#say(`The link for ${inv.email} (copy it): ${url}`);
      }
      this.#replace(out);
    } catch (err) {
      this.#fail(err);
    }
  }

  #replace(inv: Invitation) {
    if (this.#list) this.#list.invitations = this.#list.invitations.map((x) => (x.id === inv.id ? inv : x));
    if (this.#open.has(inv.id)) this.#open.set(inv.id, inv);
    this.#renderList();
    this.#refocus(inv.id, 'button');
  }

  #refocus(id: string, sel: string) {
    this.#listBox.querySelector<HTMLElement>(`tr[data-id="${id}"] ${sel}`)?.focus();
  }

  // --- CSV import --------------------------------------------------------------

  #importView(): Node[] {
    const form = h('form', { part: 'form import-form', onsubmit: (e: Event) => this.#previewCSV(e) },
      h('p', {}, 'One invitation per line: email, name (optional), roles separated by ";" (optional). A first line "email,name,roles" is skipped.'),
      h('div', { class: 'bar' },
        h('label', {}, 'CSV file', h('input', { type: 'file', name: 'file', accept: '.csv,text/csv', part: 'input', onchange: (e: Event) => this.#readFile(e) }))),
      h('label', {}, 'CSV text', h('textarea', { name: 'csv', rows: 6, part: 'input', spellcheck: 'false' })),
      h('div', { class: 'bar' }, this.#rolePicker('role', 'Roles for rows without roles'),
        h('button', { type: 'submit', class: 'primary', part: 'button primary-button' }, 'Preview')));
    this.#renderImport();
    return [h('h2', {}, 'Import invitations from CSV'), form, this.#importBox];
  }

  #renderImport() {
    this.#importBox.replaceChildren(...this.#previewView(), ...this.#progressView());
  }

  #readFile(e: Event) {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    void file.text().then((text) => {
      (input.form!.elements.namedItem('csv') as HTMLTextAreaElement).value = text;
    });
  }

  async #previewCSV(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const text = (form.elements.namedItem('csv') as HTMLTextAreaElement).value;
    const items = csvInvitations(text, DoormanInvitations.#checked(form, 'role'));
    if (this.#org) for (const i of items) i.organization_id = this.#org;
    if (!items.length) return this.#say('The CSV has no rows.', true);
    try {
      this.#preview = { items, lines: csvLines(text), result: await this.#client!.previewBatch(items) };
      this.#batch = undefined;
      const t = this.#preview.result.totals;
      this.#say(`Preview: ${t.new + t.existing_account} of ${items.length} rows can be invited; ${items.length - t.new - t.existing_account} cannot.`);
      this.#renderImport();
    } catch (err) {
      this.#fail(err);
    }
  }

  #previewView(): Node[] {
    const p = this.#preview;
    if (!p) return [];
    const t = p.result.totals;
    const bad = p.result.items.filter((i) => i.class !== 'new' && i.class !== 'existing_account');
    const ok = p.items.length - bad.length;
    return [
      h('h2', { id: 'preview-h' }, 'Preview'),
      h('p', { part: 'summary' }, `${t.new} new, ${t.existing_account} with an existing account, ${t.already_pending} already pending, ${t.invalid} invalid, ${t.not_grantable} not grantable, ${t.undeliverable} undeliverable.`),
      bad.length
        ? h('table', { part: 'table preview-table', 'aria-labelledby': 'preview-h', class: 'preview' },
          h('caption', { class: 'sr-only' }, 'Rows that will not be invited'),
          h('thead', {}, h('tr', {}, ['Line', 'Email', 'Outcome', 'Why'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, bad.map((i) => h('tr', { 'data-row': i.index },
            h('td', { 'data-label': 'Line' }, String(p.lines[i.index] ?? i.index + 1)),
            h('td', { 'data-label': 'Email' }, i.email || '(empty)'),
            h('td', { 'data-label': 'Outcome' }, badge('class', i.class)),
            h('td', { 'data-label': 'Why' }, i.error ? `${i.error.detail}${i.error.field ? ` (${i.error.field})` : ''}` : i.existing_id ? `already has a pending invitation (${i.existing_id})` : '')))))
        : h('p', {}, 'Every row can be invited.'),
      h('button', { type: 'button', class: 'primary', part: 'button primary-button', disabled: !ok || !!this.#batch, onclick: () => this.#submitBatch() },
        `Invite ${ok} ${ok === 1 ? 'person' : 'people'}`),
    ];
  }

  async #submitBatch() {
    const p = this.#preview!;
    const keep = p.result.items.filter((i) => i.class === 'new' || i.class === 'existing_account').map((i) => p.items[i.index]);
    try {
      this.#batch = await this.#client!.createBatch(keep);
      this.#say(`Import started: ${keep.length} invitations.`);
      this.#renderImport();
      this.#pollBatch();
    } catch (err) {
      this.#fail(err);
    }
  }

  #pollBatch() {
    clearTimeout(this.#poll);
    this.#poll = window.setTimeout(async () => {
      try {
        this.#batch = await this.#client!.getBatch(this.#batch!.id, { limit: 1 });
      } catch (err) {
        this.#fail(err);
      }
      const b = this.#batch!;
      if (b.status === 'done') {
        this.#say(`Import done: ${b.totals.succeeded} invited, ${b.totals.failed} failed.`);
        this.#cursors = [undefined];
        this.#page = 0;
        void this.#loadList();
      } else this.#pollBatch();
      this.#renderImport();
    }, POLL_MS);
  }

  #progressView(): Node[] {
    const b = this.#batch;
    if (!b) return [];
    const done = b.totals.succeeded + b.totals.failed;
    return [
      h('h2', { id: 'progress-h' }, 'Import progress'),
      h('progress', { max: b.total, value: done, 'aria-labelledby': 'progress-h', part: 'progress' }),
      h('p', { part: 'progress-text' }, badge('batch', b.status), ` ${done} of ${b.total} done: ${b.totals.succeeded} invited, ${b.totals.failed} failed.`),
    ];
  }

  // --- access requests ---------------------------------------------------------

  async #loadRequests() {
    try {
      this.#requests = await this.#client!.listAccessRequests({
        limit: PAGE, status: (this.#rqFilter.status || undefined) as AccessRequestQuery['status'],
        email: this.#rqFilter.email || undefined, organization_id: this.#org, cursor: this.#rqCursors[this.#rqPage],
      });
    } catch (err) {
      this.#requests = null;
      if (!(err instanceof DoormanError && (err.status === 404 || err.status === 405))) {
        this.#requests = { access_requests: [] };
        this.#fail(err);
      }
    }
    this.#renderRequests();
  }

  #requestsView(): Node[] {
    const filters = h('form', { class: 'bar', role: 'search', 'aria-label': 'Filter access requests', onsubmit: (e: Event) => this.#searchRequests(e) },
      h('label', {}, 'Status', h('select', { name: 'status', part: 'input', onchange: (e: Event) => this.#searchRequests(e) },
        h('option', { value: '' }, 'All'), REQUEST_STATUSES.map((s) => h('option', { value: s, selected: this.#rqFilter.status === s }, s)))),
      h('label', {}, 'Email', h('input', { type: 'search', name: 'email', value: this.#rqFilter.email, placeholder: 'name@example.com', part: 'input' })),
      h('button', { type: 'submit', part: 'button' }, 'Search'));
    this.#renderRequests();
    return [h('h2', { id: 'requests-h', tabindex: -1 }, 'Access requests'),
      h('p', { class: 'hint' }, 'People who asked to join on the join page and confirmed their address. Approving one sends them an invitation with the roles you pick.'),
      filters, this.#requestsBox];
  }

  #renderRequests() {
    this.#requestsBox.replaceChildren(this.#requestsTable());
  }

  #requestsTable(): Node {
    const list = this.#requests;
    if (list === undefined) return h('p', { class: 'empty' }, 'Loading access requests…');
    if (list === null) return h('p', { class: 'empty' }, 'This Doorman does not take access requests.');
    if (!list.access_requests.length) {
      return h('p', { class: 'empty', part: 'empty' }, this.#rqFilter.status === 'pending' && !this.#rqFilter.email ? 'No one is waiting for approval.' : 'No access request matches.');
    }
    return h('div', {},
      h('table', { part: 'table requests-table', 'aria-labelledby': 'requests-h', class: 'requests' },
        h('thead', {}, h('tr', {}, ['Who', 'Note', 'Requested', 'Status', 'Decision'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, list.access_requests.flatMap((r) => this.#requestRow(r)))),
      h('nav', { class: 'pages', 'aria-label': 'Access request pages', part: 'pager' },
        h('button', { type: 'button', part: 'button', disabled: this.#rqPage === 0, onclick: () => this.#goRequests(-1) }, 'Previous page'),
        h('span', {}, `Page ${this.#rqPage + 1}`),
        h('button', { type: 'button', part: 'button', disabled: !list.next_cursor, onclick: () => this.#goRequests(1) }, 'Next page')));
  }

  #requestRow(r: AccessRequest): Node[] {
    const open = this.#deciding === r.id;
    // A decided request says who decided when, and with what: the roles, or the reason.
    const by = r.decided_by ? ` by ${r.decided_by.name || r.decided_by.sub}` : '';
    const decision = r.status === 'pending'
      ? h('button', { type: 'button', part: 'button', 'aria-expanded': String(open), 'aria-label': `${open ? 'Close review of' : 'Review'} ${r.email}`, onclick: () => this.#review(r.id) }, open ? 'Close' : 'Review')
      : [r.decided_at ? h('span', { class: 'sub' }, `${when(r.decided_at)}${by}`) : null,
        r.status === 'approved' ? h('span', { class: 'sub' }, r.roles.length ? `invited as ${r.roles.map((id) => this.#roleName(id)).join(', ')}` : 'invited, no roles') : null,
        r.deny_note ? h('span', { class: 'sub' }, `reason: ${r.deny_note}`) : null];
    const tr = h('tr', { 'data-id': r.id, part: 'row', class: open ? 'open' : undefined },
      h('td', { 'data-label': 'Who' }, r.email, r.name ? h('span', { class: 'sub' }, r.name) : null),
      h('td', { 'data-label': 'Note' }, r.note ?? ''),
      h('td', { 'data-label': 'Requested' }, h('time', { datetime: r.created_at }, when(r.created_at))),
      h('td', { 'data-label': 'Status' }, badge('request', r.status)),
      h('td', r.status === 'pending' ? {} : { 'data-label': 'Decision' }, decision));
    if (!open) return [tr];
    const ttl = h('select', { name: 'ttl', part: 'input' }, h('option', { value: '' }, 'The usual time'),
      TTL_DAYS.map((d) => h('option', { value: String(d * DAY) }, d === 1 ? '1 day' : `${d} days`)));
    const form = h('form', { class: 'decide', part: 'form decide-form', 'aria-label': `Decide on ${r.email}`, onsubmit: (e: Event) => this.#decide(e as SubmitEvent, r) },
      h('div', { class: 'bar' }, this.#rolePicker('role', 'Roles to grant'), h('label', {}, 'Invitation valid for', ttl),
        h('button', { type: 'submit', value: 'approve', class: 'primary', part: 'button primary-button', 'aria-label': `Approve and invite ${r.email}` }, 'Approve and invite')),
      h('div', { class: 'bar' }, h('label', { class: 'grow' }, 'Reason, if you deny (optional; emailed to them)', h('input', { type: 'text', name: 'note', maxlength: 500, part: 'input' })),
        h('button', { type: 'submit', value: 'deny', class: 'danger', part: 'button danger-button', 'aria-label': `Deny ${r.email}` }, 'Deny')));
    return [tr, h('tr', { class: 'history', part: 'decision' }, h('td', { colspan: 5 }, form))];
  }

  #roleName(id: string) {
    return this.#roles.find((r) => r.id === id)?.name ?? id;
  }

  #review(id: string) {
    this.#deciding = this.#deciding === id ? '' : id;
    this.#renderRequests();
    const row = this.#requestsBox.querySelector<HTMLElement>(`tr[data-id="${id}"]`);
    (row?.nextElementSibling?.querySelector<HTMLElement>('input') ?? row?.querySelector<HTMLElement>('button'))?.focus();
  }

  #searchRequests(e: Event) {
    e.preventDefault();
    const form = (e.target as HTMLElement).closest('form')!;
    this.#rqFilter = { status: (form.elements.namedItem('status') as HTMLSelectElement).value, email: (form.elements.namedItem('email') as HTMLInputElement).value.trim() };
    this.#rqCursors = [undefined];
    this.#rqPage = 0;
    void this.#loadRequests();
  }

  #goRequests(step: number) {
    const next = this.#requests?.next_cursor;
    if (step > 0 && next) this.#rqCursors[this.#rqPage + 1] = next;
    this.#rqPage = Math.max(0, this.#rqPage + step);
    void this.#loadRequests();
  }

  async #decide(e: SubmitEvent, r: AccessRequest) {
    e.preventDefault();
    const approve = (e.submitter as HTMLButtonElement | null)?.value !== 'deny';
    const form = e.target as HTMLFormElement;
    try {
      let out: AccessRequest;
      if (approve) {
        const body: ApproveBody = { roles: DoormanInvitations.#checked(form, 'role') };
        const ttl = (form.elements.namedItem('ttl') as HTMLSelectElement).value;
        if (ttl) body.ttl_seconds = Number(ttl);
        out = await this.#client!.approveAccessRequest(r.id, body);
      } else {
        const note = (form.elements.namedItem('note') as HTMLInputElement).value.trim();
        out = await this.#client!.denyAccessRequest(r.id, note ? { note } : {});
      }
      this.#say(approve ? `Approved ${r.email}: their invitation is on its way.` : `Denied ${r.email}${out.deny_note ? ' and emailed them the reason' : ''}.`);
      this.#deciding = '';
      if (this.#requests) this.#requests.access_requests = this.#requests.access_requests.map((x) => (x.id === r.id ? out : x));
      this.#renderRequests();
      // The row's form is gone: focus goes back to the queue's heading.
      this.#panel.querySelector<HTMLElement>('#requests-h')?.focus();
      if (approve) void this.#loadList();
    } catch (err) {
      this.#fail(err);
    }
  }

  // --- webhook endpoints -------------------------------------------------------

  async #loadHooks() {
    try {
      this.#hooks = await this.#client!.listWebhookEndpoints(this.#org);
    } catch (err) {
      this.#hooks = null;
      if (!(err instanceof DoormanError && (err.status === 404 || err.status === 405))) {
        this.#hooks = [];
        this.#fail(err);
      }
    }
    this.#renderHooks();
  }

  #hooksView(): Node[] {
    const form = h('form', { class: 'invite', part: 'form webhook-form', 'aria-label': 'Add a webhook endpoint', onsubmit: (e: Event) => this.#addHook(e) },
      h('label', {}, 'Endpoint URL (https)', h('input', { type: 'url', name: 'url', required: true, part: 'input', placeholder: 'https://example.com/hooks/doorman' })),
      h('label', {}, 'Event types (comma separated; empty: all)', h('input', { type: 'text', name: 'events', part: 'input', placeholder: 'invitation.accepted, invitation.bounced' })),
      h('label', {}, 'Description (optional)', h('input', { type: 'text', name: 'description', maxlength: 200, part: 'input' })),
      h('button', { type: 'submit', class: 'primary', part: 'button primary-button' }, 'Add endpoint'));
    this.#renderHooks();
    return [h('h2', { id: 'hooks-h', tabindex: -1 }, 'Webhook endpoints'),
      h('p', { class: 'hint' }, 'Doorman posts each event to these URLs, signed per Standard Webhooks with the endpoint\u2019s secret.'),
      form, this.#hooksBox];
  }

  #renderHooks() {
    const hooks = this.#hooks;
    if (hooks === undefined) return this.#hooksBox.replaceChildren(h('p', { class: 'empty' }, 'Loading webhook endpoints…'));
    if (hooks === null) return this.#hooksBox.replaceChildren(h('p', { class: 'empty' }, 'This Doorman does not send webhooks.'));
    const s = this.#secret;
    const secret = s && h('section', { class: 'secret', part: 'secret', 'aria-labelledby': 'secret-h' },
      h('h3', { id: 'secret-h' }, s.rotated ? `New signing secret of ${s.url}` : `Signing secret of ${s.url}`),
      h('p', {}, h('strong', {}, 'Shown once: '), 'copy it now and keep it with your receiver; it is not shown again.',
        s.rotated ? ' The old secret keeps signing beside it for 24 hours.' : ''),
      h('p', {}, h('code', { part: 'secret-value' }, s.secret)),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', part: 'button primary-button', onclick: () => this.#copySecret() }, 'Copy secret'),
        h('button', { type: 'button', part: 'button', onclick: () => this.#dismissSecret() }, 'I have kept it')));
    const list = hooks.length
      ? h('table', { part: 'table webhooks-table', 'aria-labelledby': 'hooks-h', class: 'hooks' },
        h('thead', {}, h('tr', {}, ['URL', 'Event types', 'State', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, hooks.flatMap((w) => this.#hookRow(w))))
      : h('p', { class: 'empty', part: 'empty' }, 'No endpoints yet.');
    this.#hooksBox.replaceChildren(...[secret, list].filter(Boolean) as Node[]);
  }

  #hookRow(w: WebhookEndpoint): Node[] {
    const open = this.#attemptsOf === w.id;
    const armed = this.#hookArmed === w.id;
    const tr = h('tr', { 'data-id': w.id, part: 'row', class: open ? 'open' : undefined },
      h('td', { 'data-label': 'URL' }, w.url, w.description ? h('span', { class: 'sub' }, w.description) : null),
      h('td', { 'data-label': 'Event types' }, w.events?.length ? w.events.join(', ') : 'all'),
      h('td', { 'data-label': 'State' }, badge('webhook', w.enabled ? 'enabled' : 'disabled'),
        w.disabled_reason ? h('span', { class: 'sub' }, w.disabled_reason) : null),
      h('td', {}, h('div', { class: 'actions' },
        h('button', { type: 'button', part: 'button', 'aria-label': `${w.enabled ? 'Disable' : 'Enable'} ${w.url}`, onclick: () => this.#toggleHook(w) }, w.enabled ? 'Disable' : 'Enable'),
        h('button', { type: 'button', part: 'button', 'aria-label': `Rotate secret of ${w.url}`, onclick: () => this.#rotateHook(w) }, 'Rotate secret'),
        h('button', { type: 'button', part: 'button', 'aria-expanded': String(open), 'aria-label': `${open ? 'Hide' : 'Show'} attempts of ${w.url}`, onclick: () => this.#toggleAttempts(w) }, open ? 'Hide attempts' : 'Show attempts'),
        h('button', { type: 'button', class: 'danger', part: 'button danger-button', 'aria-label': `${armed ? 'Confirm delete' : 'Delete'} ${w.url}`, onclick: () => this.#deleteHook(w) }, armed ? 'Confirm delete' : 'Delete'),
        armed ? h('button', { type: 'button', part: 'button', 'aria-label': `Keep ${w.url}`, onclick: () => this.#disarmHook(w) }, 'Keep') : null)));
    if (!open) return [tr];
    const a = this.#attempts;
    const body = a === undefined ? h('p', { class: 'empty' }, 'Loading attempts…')
      : !a.length ? h('p', { class: 'empty' }, 'No delivery attempts yet.')
        : h('ol', { class: 'events', 'aria-label': `Attempts of ${w.url}`, part: 'attempts' }, a.map((x) => h('li', {},
          h('time', { datetime: x.at }, when(x.at)), ` ${x.type} #${x.attempt} `, badge('attempt', x.outcome),
          ` ${x.http_status ? `HTTP ${x.http_status}, ` : ''}${x.duration_ms} ms${x.error ? `: ${x.error}` : ''}`)));
    return [tr, h('tr', { class: 'history', part: 'attempts-row' }, h('td', { colspan: 4 }, body,
      h('button', { type: 'button', part: 'button', 'aria-label': `Refresh attempts of ${w.url}`, onclick: () => this.#loadAttempts(w) }, 'Refresh')))];
  }

  #focusHook(id: string, selector: string) {
    (this.#hooksBox.querySelector<HTMLElement>(`tr[data-id="${id}"] ${selector}`) ?? this.#panel.querySelector<HTMLElement>('#hooks-h'))?.focus();
  }

  #showSecret(w: WebhookEndpoint, rotated: boolean) {
    this.#secret = w.secret ? { url: w.url, secret: w.secret, rotated } : undefined;
    this.#renderHooks();
    this.#hooksBox.querySelector<HTMLElement>('.secret button.primary')?.focus();
  }

  async #copySecret() {
    try {
      await navigator.clipboard.writeText(this.#secret!.secret);
      this.#say('Copied the signing secret.');
    } catch {
      this.#say('Could not copy: select the secret and copy it.', true);
    }
  }

  #dismissSecret() {
    this.#secret = undefined;
    this.#renderHooks();
    this.#panel.querySelector<HTMLElement>('#hooks-h')?.focus();
  }

  #put(w: WebhookEndpoint) {
    const clean = { ...w, secret: undefined };
    const hooks = this.#hooks ?? [];
    this.#hooks = hooks.some((x) => x.id === w.id) ? hooks.map((x) => (x.id === w.id ? clean : x)) : [...hooks, clean];
  }

  async #addHook(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const val = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value.trim();
    const events = val('events').split(',').map((s) => s.trim()).filter(Boolean) as EventType[];
    const body: CreateWebhookEndpoint = { url: val('url') };
    if (events.length) body.events = events;
    if (val('description')) body.description = val('description');
    if (this.#org) body.organization_id = this.#org;
    try {
      const w = await this.#client!.createWebhookEndpoint(body);
      this.#put(w);
      form.reset();
      this.#say(`Added ${w.url}. Copy its signing secret now: it is shown once.`);
      this.#showSecret(w, false);
    } catch (err) {
      this.#fail(err);
    }
  }

  async #toggleHook(w: WebhookEndpoint) {
    try {
      const out = await this.#client!.updateWebhookEndpoint(w.id, { enabled: !w.enabled });
      this.#put(out);
      this.#say(`${out.enabled ? 'Enabled' : 'Disabled'} ${out.url}.`);
      this.#renderHooks();
      this.#focusHook(w.id, 'button');
    } catch (err) {
      this.#fail(err);
    }
  }

  async #rotateHook(w: WebhookEndpoint) {
    try {
      const out = await this.#client!.rotateWebhookSecret(w.id);
      this.#put(out);
      this.#say(`New signing secret for ${out.url}: copy it now, it is shown once.`);
      this.#showSecret(out, true);
    } catch (err) {
      this.#fail(err);
    }
  }

  async #toggleAttempts(w: WebhookEndpoint) {
    if (this.#attemptsOf === w.id) {
      this.#attemptsOf = '';
      this.#renderHooks();
      this.#focusHook(w.id, 'button[aria-expanded]');
      return;
    }
    this.#attemptsOf = w.id;
    await this.#loadAttempts(w);
    this.#focusHook(w.id, 'button[aria-expanded]');
  }

  async #loadAttempts(w: WebhookEndpoint) {
    this.#attempts = undefined;
    this.#renderHooks();
    try {
      this.#attempts = await this.#client!.listWebhookAttempts(w.id, 20);
    } catch (err) {
      this.#attempts = [];
      this.#fail(err);
    }
    if (this.#attemptsOf === w.id) this.#renderHooks();
  }

  #disarmHook(w: WebhookEndpoint) {
    this.#hookArmed = '';
    this.#say('');
    this.#renderHooks();
    this.#focusHook(w.id, 'button.danger');
  }

  async #deleteHook(w: WebhookEndpoint) {
    if (this.#hookArmed !== w.id) {
      this.#hookArmed = w.id;
      this.#say(`Press Confirm delete to delete ${w.url}; deliveries still queued for it are dropped.`);
      this.#renderHooks();
      this.#focusHook(w.id, 'button.danger');
      return;
    }
    this.#hookArmed = '';
    try {
      await this.#client!.deleteWebhookEndpoint(w.id);
      this.#hooks = this.#hooks?.filter((x) => x.id !== w.id);
      if (this.#attemptsOf === w.id) this.#attemptsOf = '';
      this.#say(`Deleted ${w.url}.`);
      this.#renderHooks();
      this.#panel.querySelector<HTMLElement>('#hooks-h')?.focus();
    } catch (err) {
      this.#fail(err);
      this.#renderHooks();
    }
  }
}

if (!customElements.get('doorman-invitations')) customElements.define('doorman-invitations', DoormanInvitations);

declare global {
  interface HTMLElementTagNameMap {
    'doorman-invitations': DoormanInvitations;
  }
}
