// console.mjs is the admin's browser in the console's test (console_test.go):
// Chromium, driven by playwright-core, opens /console of a running `functions/local
// serve`, signs in through the Auth0 stand-in (authorization code with PKCE), invites
// someone with a role, resends, copies the link, reads the history and revokes,
// imports a CSV of 50 rows with 3 bad ones through the dry-run preview and watches the
// batch finish, sees two people who asked for access on the join page (and confirmed
// from the emailed link) in the queue, approves one with a role and denies the other
// with a reason, adds a webhook endpoint on the test's receiver (its secret shown once),
// reads its attempts after an invitation, disables it, rotates its secret and deletes
// it, runs axe-core on every
// screen, at desktop and phone widths, with screenshots, and measures the first render
// of a 50-row list. Inputs come as JSON in CONSOLE_INPUT; it prints one JSON line of
// what it saw on stdout. Every wait is bounded.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const STEP_MS = 15_000;
const BATCH_MS = 120_000;
const input = JSON.parse(process.env.CONSOLE_INPUT ?? '{}');
for (const key of ['base', 'ses', 'token', 'out', 'email', 'password', 'run', 'badRows', 'asker', 'denied', 'hook', 'hookInvitee']) {
  if (input[key] === undefined) fail(`CONSOLE_INPUT lacks ${key}`);
}
mkdirSync(input.out, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  timeout: STEP_MS,
});
const result = { screens: {}, screenshots: [], cspViolations: [], pageErrors: [] };
try {
  await run();
} catch (err) {
  console.error(`console: ${err.stack ?? err}\npage errors: ${result.pageErrors.join('\n')}\nCSP: ${result.cspViolations.join('\n')}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(JSON.stringify(result));

async function run() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: input.base });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) result.cspViolations.push(m.text()); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));

  // Signed out, then signed in through the stand-in's login page.
  await page.goto(`${input.base}/console`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await screen(page, 'desktop-1-signed-out');
  await page.getByRole('button', { name: 'Sign in' }).click();
  result.loginHint = await page.locator('p.hint').textContent();
  await page.locator('form.login input[name=email]').fill(input.email);
  await page.locator('form.login input[name=password]').fill(input.password);
  await shot(page, 'desktop-2-auth0-login');
  await page.locator('form.login button[type=submit]').click();
  await page.getByRole('heading', { name: 'Invite someone' }).waitFor();
  await page.getByRole('checkbox', { name: 'member' }).waitFor();
  result.signedInAs = await page.locator('header .who').textContent();
  // A reload keeps the admin signed in (a silent authorization with the Auth0 session).
  await page.reload();
  await page.getByRole('heading', { name: 'Invite someone' }).waitFor();
  result.signedInAfterReload = await page.locator('header .who').textContent();

  // Invite with a role (no email, so that a resend may follow at once), see it pending.
  const email = `ada+${input.run}@example.com`;
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Name (optional)').fill('Ada Lovelace');
  await page.getByRole('checkbox', { name: 'member' }).check();
  await page.getByRole('checkbox', { name: 'Email the invitation' }).uncheck();
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const row = page.locator('tr[data-id]', { hasText: email });
  await row.locator('.badge', { hasText: 'pending' }).waitFor();
  result.invitationId = await row.getAttribute('data-id');
  await screen(page, 'desktop-3-invited');

  await page.getByRole('button', { name: `Resend to ${email}` }).click();
  await page.getByRole('status').filter({ hasText: `Sent ${email} a new link.` }).waitFor();
  await row.locator('.badge', { hasText: 'sent' }).waitFor();

  await page.getByRole('button', { name: `Copy link for ${email}` }).click();
  await page.getByRole('status').filter({ hasText: 'Copied the link' }).waitFor();
  result.copiedLink = await page.evaluate(() => navigator.clipboard.readText());

  await page.getByRole('button', { name: `History of ${email}` }).click();
  await page.getByRole('list', { name: `History of ${email}` }).getByText('resent').waitFor();
  result.historyShown = await page.getByRole('list', { name: `History of ${email}` }).innerText();
  await screen(page, 'desktop-4-history');

  await page.getByRole('button', { name: `Revoke ${email}` }).click();
  await page.getByRole('button', { name: `Confirm revoke ${email}` }).click();
  await page.getByRole('status').filter({ hasText: `Revoked the invitation of ${email}.` }).waitFor();
  await row.locator('.badge', { hasText: 'revoked' }).waitFor();
  await screen(page, 'desktop-5-revoked');

  // Bulk import: 50 rows, the bad ones shown by the preview, the rest invited.
  await page.getByRole('tab', { name: 'Import CSV' }).click();
  await page.getByLabel('CSV text').fill(csv());
  await page.getByRole('checkbox', { name: 'member' }).check();
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('heading', { name: 'Preview' }).waitFor();
  result.previewRows = await page.locator('table.preview tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.row)));
  result.previewClasses = await page.locator('table.preview tbody tr .badge').allInnerTexts();
  result.previewLines = await page.locator('table.preview tbody tr td:first-child').allInnerTexts();
  result.csvKept = (await page.getByLabel('CSV text').inputValue()).length > 0;
  await screen(page, 'desktop-6-import-preview');
  const invite = page.getByRole('button', { name: /^Invite \d+ people$/ });
  result.inviteButton = await invite.innerText();
  await invite.click();
  await page.locator('progress').waitFor();
  result.progressSeen = [];
  const started = Date.now();
  for (;;) {
    const text = await page.locator('[part~="progress-text"]').innerText();
    if (result.progressSeen.at(-1) !== text) result.progressSeen.push(text);
    if (/^done\b/.test(text)) break;
    if (Date.now() - started > BATCH_MS) throw new Error(`the batch did not finish within ${BATCH_MS} ms: ${text}`);
    await page.waitForTimeout(250);
  }
  result.batchMs = Date.now() - started;
  result.progressValue = await page.locator('progress').evaluate((p) => [p.value, p.max]);
  await screen(page, 'desktop-7-import-done');

  // Two people ask for access on the join page and confirm their addresses from the
  // emailed links; the admin approves the first with a role and a week's invitation.
  await askForAccess(input.asker, 'Joan Park');
  await askForAccess(input.denied, 'Dan Reyes');
  await page.getByRole('tab', { name: 'Access requests' }).click();
  await page.getByRole('heading', { name: 'Access requests' }).waitFor();
  const askerRow = page.locator('tr[data-id]', { hasText: input.asker });
  await askerRow.locator('.badge', { hasText: 'pending' }).waitFor();
  result.requestId = await askerRow.getAttribute('data-id');
  result.queueShown = await page.locator('table.requests tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.querySelector('td').firstChild.textContent));
  await screen(page, 'desktop-8-access-requests');
  await page.getByRole('button', { name: `Review ${input.asker}` }).click();
  const decide = page.getByRole('form', { name: `Decide on ${input.asker}` });
  await decide.getByRole('checkbox', { name: 'member' }).check();
  await decide.getByLabel('Invitation valid for').selectOption({ label: '7 days' });
  await screen(page, 'desktop-9-access-request-review');
  await page.getByRole('button', { name: `Approve and invite ${input.asker}` }).click();
  await page.getByRole('status').filter({ hasText: `Approved ${input.asker}` }).waitFor();
  await askerRow.locator('.badge', { hasText: 'approved' }).waitFor();
  result.approvedRow = await askerRow.innerText();
  await screen(page, 'desktop-10-access-request-approved');

  // A webhook endpoint on the test's loopback receiver: its secret shown once, then
  // an invitation's events delivered to it, its attempts read, disabled, rotated.
  await page.getByRole('tab', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Webhook endpoints' }).waitFor();
  await page.getByText('No endpoints yet.').waitFor();
  await page.getByLabel('Endpoint URL (https)').fill(input.hook);
  await page.getByLabel(/^Event types/).fill('invitation.created, invitation.revoked');
  await page.getByLabel('Description (optional)').fill('Console test receiver');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = page.getByRole('region', { name: `Signing secret of ${input.hook}` });
  await secret.waitFor();
  result.hookSecret = await secret.locator('code').innerText();
  result.secretNote = await secret.locator('p').first().innerText();
  result.secretFocus = await page.evaluate(() => document.querySelector('doorman-invitations').shadowRoot.activeElement?.textContent);
  const hookRow = page.locator('tr[data-id]', { hasText: input.hook });
  result.endpointId = await hookRow.getAttribute('data-id');
  await screen(page, 'desktop-11-webhook-secret');
  await secret.getByRole('button', { name: 'Copy secret' }).click();
  await page.getByRole('status').filter({ hasText: 'Copied the signing secret.' }).waitFor();
  result.copiedSecret = await page.evaluate(() => navigator.clipboard.readText());
  await secret.getByRole('button', { name: 'I have kept it' }).click();
  await secret.waitFor({ state: 'detached' });
  // Someone invited: the endpoint receives invitation.created.
  await page.getByRole('tab', { name: 'Invitations' }).click();
  await page.getByLabel('Email address').fill(input.hookInvitee);
  await page.getByRole('checkbox', { name: 'Email the invitation' }).uncheck();
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.locator('tr[data-id]', { hasText: input.hookInvitee }).locator('.badge', { hasText: 'pending' }).waitFor();
  await page.getByRole('tab', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: `Show attempts of ${input.hook}` }).click();
  const attempts = page.getByRole('list', { name: `Attempts of ${input.hook}` });
  for (const deadline = Date.now() + STEP_MS; ; await page.waitForTimeout(250)) {
    if (await attempts.getByText('invitation.created').count()) break;
    if (Date.now() > deadline) throw new Error(`no attempt of invitation.created shown within ${STEP_MS} ms`);
    await page.getByRole('button', { name: `Refresh attempts of ${input.hook}` }).click();
  }
  result.attemptsShown = await attempts.innerText();
  await screen(page, 'desktop-12-webhook-attempts');
  await page.getByRole('button', { name: `Disable ${input.hook}` }).click();
  await hookRow.locator('.badge', { hasText: 'disabled' }).waitFor();
  result.hookState = await hookRow.locator('.badge').innerText();
  await page.getByRole('button', { name: `Rotate secret of ${input.hook}` }).click();
  const rotated = page.getByRole('region', { name: `New signing secret of ${input.hook}` });
  await rotated.waitFor();
  result.rotatedSecret = await rotated.locator('code').innerText();
  await screen(page, 'desktop-13-webhook-rotated');

  // Keyboard: the tabs follow the arrow keys.
  await page.getByRole('tab', { name: 'Webhooks' }).focus();
  await page.keyboard.press('ArrowRight');
  result.tabAfterArrow = await page.evaluate(() => document.querySelector('doorman-invitations').shadowRoot.activeElement?.textContent);

  // Phone width.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('tab', { name: 'Invitations' }).click();
  await page.locator('tr[data-id]').first().waitFor();
  await screen(page, 'phone-1-invitations', false);
  await page.getByRole('button', { name: /^History of / }).first().click();
  await page.locator('tr.history li').first().waitFor();
  await shot(page, 'phone-2-history', false);
  await page.getByRole('tab', { name: 'Import CSV' }).click();
  await page.getByLabel('CSV text').fill(csv());
  await page.getByRole('button', { name: 'Preview' }).click();
  // The desktop's preview is still shown until this one answers.
  await page.getByRole('status').filter({ hasText: /^Preview:/ }).waitFor();
  await screen(page, 'phone-3-import-preview');
  result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // The second request, denied with a reason, at phone width.
  await page.getByRole('tab', { name: 'Access requests' }).click();
  await page.getByRole('button', { name: `Review ${input.denied}` }).click();
  await page.getByLabel(/^Reason, if you deny/).fill('Only staff for now.');
  await screen(page, 'phone-4-access-request-review');
  result.phoneOverflow = Math.max(result.phoneOverflow, await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth));
  await page.getByRole('button', { name: `Deny ${input.denied}` }).click();
  await page.getByRole('status').filter({ hasText: `Denied ${input.denied}` }).waitFor();
  await page.getByRole('search', { name: 'Filter access requests' }).locator('select[name=status]').selectOption('');
  await page.locator('tr[data-id]', { hasText: input.denied }).locator('.badge', { hasText: 'denied' }).waitFor();
  await screen(page, 'phone-5-access-requests-all');
  // The endpoint, at phone width: its new secret still shown; deleted after a confirmation.
  await page.getByRole('tab', { name: 'Webhooks' }).click();
  await page.locator('tr[data-id]', { hasText: input.hook }).waitFor();
  await screen(page, 'phone-6-webhooks');
  result.phoneOverflow = Math.max(result.phoneOverflow, await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth));
  await page.getByRole('button', { name: 'I have kept it' }).click();
  await page.getByRole('button', { name: `Delete ${input.hook}` }).click();
  await page.getByRole('button', { name: `Confirm delete ${input.hook}` }).click();
  await page.getByRole('status').filter({ hasText: `Deleted ${input.hook}.` }).waitFor();
  await page.getByText('No endpoints yet.').waitFor();
  await page.setViewportSize({ width: 1280, height: 900 });

  // On a page of its own (the console signed out: the component's script loaded, no
  // other widget on the page).
  const fresh = await context.newPage();
  await fresh.goto(`${input.base}/console`);
  await fresh.waitForFunction(() => customElements.get('doorman-invitations') !== undefined);
  result.firstRenderMs = await measureFirstRender(fresh);

  // The README's plain-HTML example: it sends the admin to sign in, then lists.
  // In a browser of its own: auth0-spa-js's silent check (prompt=none in an iframe),
  // which the stand-in does not serve, runs only where an earlier sign-in left its cookie.
  const example = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  example.setDefaultTimeout(STEP_MS);
  example.on('pageerror', (e) => result.pageErrors.push(`example: ${e}`));
  await example.goto(input.example);
  try {
    await example.locator('form.login input[name=email]').waitFor();
  } catch (err) {
    await shot(example, 'desktop-10-plain-html-example-failed');
    throw new Error(`the example did not reach the sign-in page (at ${example.url()}): ${err.message}`);
  }
  await example.locator('form.login input[name=email]').fill(input.email);
  await example.locator('form.login input[name=password]').fill(input.password);
  await example.locator('form.login button[type=submit]').click();
  await example.locator('doorman-invitations tr[data-id]').first().waitFor();
  result.exampleRows = await example.locator('doorman-invitations tr[data-id]').count();
  await shot(example, 'desktop-10-plain-html-example');
}

// askForAccess fills the join page as `email` and `name` and confirms the address from the link
// the local SES holds for it, in a browser of the person's own.
async function askForAccess(email, name) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
  context.setDefaultTimeout(STEP_MS);
  try {
    const page = await context.newPage();
    await page.goto(`${input.base}/join`);
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel(/A note/).fill('I work on the billing team.');
    await page.getByRole('button', { name: 'Ask for access' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await page.goto(await verifyLinkFor(email));
    await page.getByRole('button', { name: 'Confirm my request' }).click();
    await page.getByRole('heading', { name: 'Request confirmed' }).waitFor();
  } finally {
    await context.close();
  }
}

// verifyLinkFor waits for the verification email to `to` in the local SES and returns its link.
async function verifyLinkFor(to) {
  const re = new RegExp(`${input.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/r/[A-Za-z0-9_-]+`);
  for (const deadline = Date.now() + STEP_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const resp = await fetch(`${input.ses}/store`, { signal: AbortSignal.timeout(STEP_MS) });
    if (!resp.ok) throw new Error(`GET ${input.ses}/store: status ${resp.status}`);
    for (const e of (await resp.json()).emails ?? []) {
      const link = (e.destination?.to ?? []).includes(to) && e.body?.text?.match(re)?.[0];
      if (link) return link;
    }
  }
  throw new Error(`no verification link emailed to ${to} within ${STEP_MS} ms`);
}

// measureFirstRender mounts a fresh component ten times on a canned 50-row page of the
// API (read once from the server), with fetch answering at once, and returns the time
// from mounting to the frame after its table holds the 50 rows, each time.
async function measureFirstRender(page) {
  const headers = { Authorization: `Bearer ${input.token}` };
  const list = await (await fetch(`${input.base}/v1/invitations?limit=50`, { headers })).json();
  const roles = await (await fetch(`${input.base}/v1/roles`, { headers })).json();
  if (!list.invitations.length) throw new Error('no invitations to render');
  // Fifty rows of the server's own invitations (repeated, under new ids, when it has fewer).
  const rows = [];
  for (let i = 0; rows.length < 50; i++) {
    const inv = list.invitations[i % list.invitations.length];
    rows.push({ ...inv, id: `${inv.id}-${i}` });
  }
  list.invitations = rows;
  list.next_cursor = 'more';
  return page.evaluate(async ({ list, roles }) => {
    const real = window.fetch;
    window.fetch = async (url) => new Response(JSON.stringify(String(url).includes('/v1/roles') ? roles : list),
      { status: 200, headers: { 'Content-Type': 'application/json' } });
    const times = [];
    try {
      for (let i = 0; i < 10; i++) {
        const el = document.createElement('doorman-invitations');
        el.setAttribute('api-base', location.origin);
        const t0 = performance.now();
        el.getAccessToken = () => 'token';
        document.body.append(el);
        await new Promise((resolve) => {
          const done = () => el.shadowRoot.querySelectorAll('tr[data-id]').length === 50;
          if (done()) return resolve();
          const watch = new MutationObserver(() => { if (done()) { watch.disconnect(); resolve(); } });
          watch.observe(el.shadowRoot, { childList: true, subtree: true });
        });
        await new Promise((r) => requestAnimationFrame(() => r()));
        times.push(performance.now() - t0);
        el.remove();
      }
    } finally {
      window.fetch = real;
    }
    return times;
  }, { list, roles });
}

function csv() {
  const lines = ['email,name,roles'];
  for (let i = 0; i < 50; i++) {
    let line = `bulk${i}+${input.run}@example.com,Person ${i},`;
    if (i === input.badRows[0]) line = 'not-an-email,Nobody,';
    if (i === input.badRows[1]) line = `bulk3+${input.run}@example.com,Twice,`;
    if (i === input.badRows[2]) line = `bulk${i}+${input.run}@example.com,Overreach,rol_not_grantable`;
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

// screen saves a screenshot and runs axe-core on the page (shadow DOM included),
// keeping the serious and critical violations.
async function screen(page, name, fullPage = true) {
  await shot(page, name, fullPage);
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  result.screens[name] = res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
}

async function shot(page, name, fullPage = true) {
  const file = join(input.out, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  result.screenshots.push(file);
  console.error(`console: ${name}`);
}

function fail(msg) {
  console.error(`console: ${msg}`);
  process.exit(2);
}
