// The client's tests, against a running `functions/local serve` (started by
// typescript_test.go, which passes DOORMAN_BASE, DOORMAN_TOKEN, DOORMAN_ROLE,
// DOORMAN_SES, the local SES whose store holds the mail sent, and DOORMAN_CLIENT, the
// compiled client's path).
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { DoormanClient, DoormanError } = await import(process.env.DOORMAN_CLIENT);
const base = process.env.DOORMAN_BASE;
const role = process.env.DOORMAN_ROLE;
const run = Date.now();
let tokenCalls = 0;
const client = new DoormanClient({
  baseUrl: base + '/',
  getAccessToken: async () => { tokenCalls++; return process.env.DOORMAN_TOKEN; },
});

test('create omitting send_email, then read it back', async () => {
  const before = tokenCalls;
  const inv = await client.createInvitation({ email: `ada+${run}@example.com`, roles: [role] });
  assert.equal(inv.status, 'pending');
  assert.deepEqual(inv.roles, [role]);
  assert.equal(inv.accept_url, undefined, 'an emailed invitation discloses no link');
  const got = await client.getInvitation(inv.id);
  assert.equal(got.email, `ada+${run}@example.com`);
  assert.equal(tokenCalls - before, 2, 'one token per request');
});

test('an error answer is a DoormanError with the problem', async () => {
  await assert.rejects(client.createInvitation({ email: 'not-an-email' }), (err) => {
    assert.ok(err instanceof DoormanError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.problem.field, 'email');
    assert.ok(err.problem.request_id);
    return true;
  });
  const email = `bo+${run}@example.com`;
  const first = await client.createInvitation({ email });
  await assert.rejects(client.createInvitation({ email }), (err) => {
    assert.equal(err.status, 409);
    assert.equal(err.code, 'conflict');
    assert.equal(err.problem.existing_id, first.id);
    return true;
  });
  await assert.rejects(client.getInvitation('inv_does_not_exist'), (err) => err.status === 404 && err.code === 'not_found');
});

test('the async iterator follows next_cursor across pages', async () => {
  const ids = new Set();
  for (let i = 0; i < 5; i++) {
    ids.add((await client.createInvitation({ email: `page${i}+${run}@example.com`, send_email: false })).id);
  }
  const page = await client.listInvitations({ limit: 2 });
  assert.equal(page.invitations.length, 2);
  assert.ok(page.next_cursor, 'a first page of 2 has a next_cursor');
  const seen = [];
  for await (const inv of client.invitations({ limit: 2 })) seen.push(inv.id);
  for (const id of ids) assert.ok(seen.includes(id), `the iterator missed ${id}`);
  assert.equal(new Set(seen).size, seen.length, 'no invitation twice');
});

test('resend, ticket and revoke', async () => {
  const inv = await client.createInvitation({ email: `cy+${run}@example.com`, send_email: false });
  const ticket = await client.createTicket(inv.id);
  assert.match(ticket.accept_url, /\/i\//);
  const revoked = await client.revokeInvitation(inv.id);
  assert.equal(revoked.status, 'revoked');
  await assert.rejects(client.resendInvitation(inv.id), (err) => err instanceof DoormanError && err.status >= 400);
});

test('batch preview classifies and changes nothing; a batch runs to done', async () => {
  const items = [{ email: `d1+${run}@example.com` }, { email: 'nope' }, { email: `d1+${run}@example.com` }];
  const preview = await client.previewBatch(items);
  assert.equal(preview.dry_run, true);
  assert.deepEqual(preview.items.map((i) => i.class), ['new', 'invalid', 'invalid']);
  const none = await client.listInvitations({ email: `d1+${run}@example.com` });
  assert.equal(none.invitations.length, 0, 'the preview created an invitation');

  const batch = await client.createBatch([{ email: `d1+${run}@example.com` }, { email: `d2+${run}@example.com` }]);
  let b = batch;
  for (let i = 0; i < 100 && b.status !== 'done'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    b = await client.getBatch(batch.id);
  }
  assert.equal(b.status, 'done');
  assert.equal(b.totals.succeeded, 2);
});

test('roles lists what the caller may grant', async () => {
  const roles = await client.roles();
  assert.ok(roles.some((r) => r.id === role && r.name === 'member'));
});

test('an access request: listed once verified, approved with roles and a ttl, then not decidable again', async () => {
  const email = `joan+${run}@example.com`;
  const asked = await fetch(`${base}/v1/access-requests`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, name: 'Joan', note: 'Billing team.' }),
  });
  assert.equal(asked.status, 202);
  // The person confirms the address from the emailed link, as the form on its page does.
  const link = await verifyLink(email);
  const confirmed = await fetch(link, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
  assert.equal(confirmed.status, 200);

  const page = await client.listAccessRequests({ status: 'pending', email });
  assert.equal(page.access_requests.length, 1);
  const req = page.access_requests[0];
  assert.equal(req.note, 'Billing team.');
  await assert.rejects(client.approveAccessRequest(req.id, { roles: ['rol_not_grantable'] }), (err) => {
    assert.ok(err instanceof DoormanError);
    assert.equal(err.status, 403);
    assert.equal(err.problem.field, 'roles[0]');
    assert.ok(err.message, 'the message is the problem\'s detail');
    return true;
  });
  const approved = await client.approveAccessRequest(req.id, { roles: [role], ttl_seconds: 7 * 86400 });
  assert.equal(approved.status, 'approved');
  assert.deepEqual(approved.roles, [role]);
  const inv = await client.getInvitation(approved.invitation_id);
  assert.ok(Math.abs(Date.parse(inv.expires_at) - Date.parse(inv.created_at) - 7 * 86400 * 1000) < 60_000, 'the invitation lasts the ttl given');
  await assert.rejects(client.denyAccessRequest(req.id, { note: 'Too late.' }), (err) => err.status === 409);
  assert.equal((await client.listAccessRequests({ status: 'pending', email })).access_requests.length, 0);
});

async function verifyLink(to) {
  const re = new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/r/[A-Za-z0-9_-]+`);
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const { emails = [] } = await (await fetch(`${process.env.DOORMAN_SES}/store`)).json();
    for (const e of emails) {
      const link = (e.destination?.to ?? []).includes(to) && e.body?.text?.match(re)?.[0];
      if (link) return link;
    }
  }
  throw new Error(`no verification link emailed to ${to}`);
}
