// The client's tests, against a running `functions/local serve` (started by
// typescript_test.go, which passes DOORMAN_BASE, DOORMAN_TOKEN, DOORMAN_ROLE and
// DOORMAN_CLIENT, the compiled client's path).
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
