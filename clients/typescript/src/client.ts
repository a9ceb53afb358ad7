// Doorman's TypeScript client: the types generated from the OpenAPI document
// (schema.d.ts) and a thin wrapper over fetch. Every call gets a fresh bearer token
// from getAccessToken (auth0-spa-js's getTokenSilently, auth0-react's
// getAccessTokenSilently), an error answer becomes a DoormanError carrying the
// problem+json body, and lists can be walked across pages with an async iterator.
import type { components, operations } from './schema.js';

export type Schemas = components['schemas'];
export type Invitation = Schemas['Invitation'];
export type CreateInvitation = Schemas['CreateInvitation'];
export type InvitationList = Schemas['InvitationList'];
export type Batch = Schemas['Batch'];
export type DryRun = Schemas['DryRun'];
export type Role = Schemas['Role'];
export type Problem = Schemas['Problem'];
export type ListQuery = NonNullable<operations['listInvitations']['parameters']['query']>;
export type BatchQuery = NonNullable<operations['getInvitationBatch']['parameters']['query']>;
export type ResendBody = NonNullable<operations['resendInvitation']['requestBody']>['content']['application/json'];
export type AccessRequest = Schemas['AccessRequest'];
export type AccessRequestQuery = NonNullable<operations['listAccessRequests']['parameters']['query']>;
export type AccessRequestList = operations['listAccessRequests']['responses']['200']['content']['application/json'];
export type ApproveBody = NonNullable<operations['approveAccessRequest']['requestBody']>['content']['application/json'];
export type DenyBody = NonNullable<operations['denyAccessRequest']['requestBody']>['content']['application/json'];
export type EventType = Schemas['EventType'];
export type WebhookEndpoint = Schemas['WebhookEndpoint'];
export type CreateWebhookEndpoint = Schemas['CreateWebhookEndpoint'];
export type UpdateWebhookEndpoint = Schemas['UpdateWebhookEndpoint'];
export type WebhookAttempt = Schemas['WebhookAttempt'];

export interface ClientOptions {
  /** The API's origin, e.g. https://doorman.example.com (no /v1). */
  baseUrl: string;
  /** Returns the signed-in admin's Auth0 access token for Doorman's API audience. */
  getAccessToken: () => string | Promise<string>;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** An error answer of the API: status, the problem's stable code, and the whole problem. */
export class DoormanError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'DoormanError';
    this.status = status;
    this.code = problem.code;
    this.problem = problem;
  }
}

export class DoormanClient {
  readonly #base: string;
  readonly #token: ClientOptions['getAccessToken'];
  readonly #fetch: typeof fetch;

  constructor(opts: ClientOptions) {
    this.#base = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.getAccessToken;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Calls any route of the API (path from /v1) and returns its JSON body, or undefined for 204 and empty bodies. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.#base + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
      Authorization: `Bearer ${await this.#token()}`,
    };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
    const res = await this.#fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
    const text = await res.text();
    const data: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const p = (data ?? {}) as Partial<Problem>;
      throw new DoormanError(res.status, {
        type: p.type ?? 'about:blank',
        title: p.title ?? res.statusText,
        status: p.status ?? res.status,
        code: p.code ?? (res.status >= 500 ? 'internal' : 'invalid_request'),
        request_id: p.request_id ?? res.headers.get('X-Request-Id') ?? '',
        ...p,
      } as Problem);
    }
    return data as T;
  }

  createInvitation(body: CreateInvitation, opts: { idempotencyKey?: string } = {}): Promise<Invitation> {
    return this.request('POST', '/v1/invitations', { body, ...opts });
  }

  listInvitations(query: ListQuery = {}): Promise<InvitationList> {
    return this.request('GET', '/v1/invitations', { query });
  }

  /** Every invitation the query matches, newest first, following next_cursor page by page. */
  invitations(query: Omit<ListQuery, 'cursor'> = {}): AsyncIterable<Invitation> {
    return paginate((cursor) => this.listInvitations({ ...query, cursor }), (p) => p.invitations);
  }

  getInvitation(id: string): Promise<Invitation> {
    return this.request('GET', `/v1/invitations/${encodeURIComponent(id)}`);
  }

  resendInvitation(id: string, body: ResendBody = {}): Promise<Invitation> {
    return this.request('POST', `/v1/invitations/${encodeURIComponent(id)}/resend`, { body });
  }

  /** A fresh accept URL (accept_url) without sending email. */
  createTicket(id: string): Promise<Invitation> {
    return this.request('POST', `/v1/invitations/${encodeURIComponent(id)}/tickets`);
  }

  revokeInvitation(id: string): Promise<Invitation> {
    return this.request('DELETE', `/v1/invitations/${encodeURIComponent(id)}`);
  }

  createBatch(invitations: CreateInvitation[], opts: { idempotencyKey?: string } = {}): Promise<Batch> {
    return this.request('POST', '/v1/invitation-batches', { body: { invitations }, ...opts });
  }

  /** What a batch would do with each item; nothing changes. */
  previewBatch(invitations: CreateInvitation[]): Promise<DryRun> {
    return this.request('POST', '/v1/invitation-batches', { body: { invitations }, query: { dry_run: true } });
  }

  getBatch(id: string, query: BatchQuery = {}): Promise<Batch> {
    return this.request('GET', `/v1/invitation-batches/${encodeURIComponent(id)}`, { query });
  }

  /** Verified access requests, newest first (needs review:access-requests). */
  listAccessRequests(query: AccessRequestQuery = {}): Promise<AccessRequestList> {
    return this.request('GET', '/v1/access-requests', { query });
  }

  /** Approves a pending request: the answer carries the invitation it created (invitation_id). */
  approveAccessRequest(id: string, body: ApproveBody = {}): Promise<AccessRequest> {
    return this.request('POST', `/v1/access-requests/${encodeURIComponent(id)}/approve`, { body });
  }

  /** Denies a pending request; a note is emailed to the person unless notify is false. */
  denyAccessRequest(id: string, body: DenyBody = {}): Promise<AccessRequest> {
    return this.request('POST', `/v1/access-requests/${encodeURIComponent(id)}/deny`, { body });
  }

  /** The webhook endpoints of the caller's scope (needs manage:webhooks). */
  async listWebhookEndpoints(organizationId?: string): Promise<WebhookEndpoint[]> {
    const out = await this.request<{ webhook_endpoints: WebhookEndpoint[] }>('GET', '/v1/webhook-endpoints', { query: { organization_id: organizationId } });
    return out.webhook_endpoints;
  }

  /** Registers an endpoint: the answer carries its signing secret (whsec_…), this once. */
  createWebhookEndpoint(body: CreateWebhookEndpoint): Promise<WebhookEndpoint> {
    return this.request('POST', '/v1/webhook-endpoints', { body });
  }

  /** Changes an endpoint; enabled: true also clears the failure record of one Doorman disabled. */
  updateWebhookEndpoint(id: string, body: UpdateWebhookEndpoint): Promise<WebhookEndpoint> {
    return this.request('PATCH', `/v1/webhook-endpoints/${encodeURIComponent(id)}`, { body });
  }

  deleteWebhookEndpoint(id: string): Promise<void> {
    return this.request('DELETE', `/v1/webhook-endpoints/${encodeURIComponent(id)}`);
  }

  /** A new signing secret (in the answer, this once); the old one keeps signing for 24 hours. */
  rotateWebhookSecret(id: string): Promise<WebhookEndpoint> {
    return this.request('POST', `/v1/webhook-endpoints/${encodeURIComponent(id)}/rotate-secret`);
  }

  /** The endpoint's latest delivery attempts, newest first. */
  async listWebhookAttempts(id: string, limit?: number): Promise<WebhookAttempt[]> {
    const out = await this.request<{ attempts: WebhookAttempt[] }>('GET', `/v1/webhook-endpoints/${encodeURIComponent(id)}/attempts`, { query: { limit } });
    return out.attempts;
  }

  /** The roles the caller may put on an invitation (of the organization, when given). */
  async roles(organizationId?: string): Promise<Role[]> {
    const out = await this.request<{ roles: Role[] }>('GET', '/v1/roles', { query: { organization_id: organizationId } });
    return out.roles;
  }
}

/** Walks a cursor-paged list: fetch(cursor) returns a page with next_cursor, items(page) its items. */
export async function* paginate<P extends { next_cursor?: string }, T>(
  fetchPage: (cursor: string | undefined) => Promise<P>,
  items: (page: P) => T[],
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* items(page);
    cursor = page.next_cursor;
  } while (cursor);
}
