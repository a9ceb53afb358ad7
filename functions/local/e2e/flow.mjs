// flow.mjs is the invitee's browser in Doorman's end-to-end test: Chromium, driven by
// playwright-core, clicks through Doorman's invitation pages, the Auth0 stand-in's
// password and login pages of a running `functions/local serve` and the application's
// page, and saves a screenshot of every page. The Go test in this folder creates the
// invitations (and the accounts that were there before them), runs
//
//	node flow.mjs accept|wrong-account|existing-account|squatter|owner-claims|join-request|join-auto|join-accept|join-link
//
// with its inputs as JSON in E2E_INPUT, reads the one JSON line this prints on stdout,
// and checks the outcome through the API. Progress goes to stderr. Every wait is bounded.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const STEP_TIMEOUT_MS = 15_000; // one click, navigation or assertion on a page
const ACCEPT_TIMEOUT_MS = 20_000; // from the login click to `accepted` (or another event) in the API
const MAIL_TIMEOUT_MS = 20_000; // from the refused accept to the new email

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const scenario = process.argv[2];
const input = JSON.parse(process.env.E2E_INPUT ?? '{}');
for (const key of ['base', 'ses', 'token', 'out', 'loginClient', 'password', 'application']) {
  if (!input[key]) fail(`E2E_INPUT lacks ${key}`);
}
mkdirSync(input.out, { recursive: true });

const scenarios = {
  accept, 'wrong-account': wrongAccount, 'existing-account': existingAccount, squatter, 'owner-claims': ownerClaims,
  'join-request': joinRequest, 'join-auto': joinAuto, 'join-accept': joinAccept, 'join-link': joinLink,
};
if (!scenarios[scenario]) fail(`unknown scenario ${JSON.stringify(scenario)} (want ${Object.keys(scenarios).join(' or ')})`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
  timeout: STEP_TIMEOUT_MS,
});
const shots = [];
let result;
try {
  result = await scenarios[scenario]();
} catch (err) {
  console.error(`flow ${scenario}: ${err.stack ?? err}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(JSON.stringify({ ...result, screenshots: shots }));

// accept: an application invitee sets a password on the ticket page and logs in; an
// organization invitee, in another browser, signs up on the invitation's login page.
async function accept() {
  const app = await followLink(await newPerson(), input.app.email, input.app.link, 'accept-app-1');
  await setPassword(app, 'accept-app-2-password', 'accept-app-3-password-changed');
  const appMs = await logIn(app, input.app, 'accept-app-4-login', 'accept-app-5-logged-in');

  const org = await followLink(await newPerson(), input.org.email, input.org.link, 'accept-org-1');
  const orgMs = await signUp(org, input.org, 'accept-org-2-invitation-login', 'accept-org-3-signed-up');
  return { loginToAcceptedMs: { application: appMs, organization: orgMs } };
}

// wrongAccount: in one browser, B accepts an application invitation and stays signed
// in; then the organization invitation for A is opened there and continued as B, which
// Auth0 refuses (fi). Doorman emails A a new link, which A then uses to sign up.
async function wrongAccount() {
  let page = await followLink(await newPerson(), input.app.email, input.app.link, 'wrong-account-1-b');
  await setPassword(page, 'wrong-account-2-b-password', 'wrong-account-3-b-password-changed');
  await logIn(page, input.app, 'wrong-account-4-b-login', 'wrong-account-5-b-logged-in');

  page = await followLink(page, input.org.email, input.org.link, 'wrong-account-6-a');
  const asB = page.getByRole('button', { name: `Continue as ${input.app.email}` });
  await asB.waitFor();
  await shot(page, 'wrong-account-7-a-invitation-login-signed-in-as-b');
  const refusedAt = Date.now();
  await asB.click();
  await page.getByRole('alert').waitFor();
  await shot(page, 'wrong-account-8-refused');

  const link = await newLinkFor(input.org.email, input.org.link);
  const mailMs = Date.now() - refusedAt;
  log(`new link emailed ${mailMs} ms after the refused accept`);
  page = await followLink(page, input.org.email, link, 'wrong-account-9-a-new');
  const orgMs = await signUp(page, input.org, 'wrong-account-10-a-invitation-login', 'wrong-account-11-a-signed-up');
  return { refusedToNewMailMs: mailMs, loginToAcceptedMs: { organization: orgMs } };
}

// existingAccount: the owner of a verified account follows the emailed link, which
// leads to the application, and signs in there with the password they already have.
async function existingAccount() {
  const { owner } = input;
  const page = await followLink(await newPerson(), owner.email, owner.link, 'existing-account-1');
  if (!page.url().startsWith(`${input.application}/`)) fail(`Continue led to ${page.url()}, want the application ${input.application}/`);
  const logInLink = page.getByRole('link', { name: 'Log in' });
  await logInLink.waitFor();
  await shot(page, 'existing-account-2-application');
  await logInLink.click();
  const clicked = await submitLogin(page, owner, 'existing-account-3-login');
  await page.getByText('You are signed in.').waitFor();
  if (!page.url().startsWith(`${input.application}/callback?`)) fail(`the sign-in led to ${page.url()}, want the application's callback`);
  await shot(page, 'existing-account-4-signed-in');
  return { loginToAcceptedMs: { owner: await recordedAfter(owner.id, clicked, 'accepted') } };
}

// squatter: whoever registered the invited address first, without verifying it, signs
// in; Doorman notes that the owner has not proven control yet, and grants nothing.
async function squatter() {
  const who = input.squatter;
  const page = await newPerson();
  await page.goto(loginURL());
  const clicked = await submitLogin(page, who, 'squatter-1-login');
  await page.getByText(`You are logged in as ${who.email}.`).waitFor();
  await shot(page, 'squatter-2-logged-in');
  return { loginToNotedMs: await recordedAfter(who.id, clicked, 'owner_unproven') };
}

// ownerClaims: the address's owner follows the emailed link to a password-change page
// and sets a password, which verifies the address and replaces the squatter's, then
// signs in. The squatter's password no longer opens the account.
async function ownerClaims() {
  const { owner, squatter } = input;
  const page = await followLink(await newPerson(), owner.email, owner.link, 'owner-claims-1');
  await setPassword(page, 'owner-claims-2-password', 'owner-claims-3-password-changed');
  const ms = await logIn(page, owner, 'owner-claims-4-login', 'owner-claims-5-logged-in');

  const other = await newPerson();
  await other.goto(loginURL());
  await submitLogin(other, squatter, 'owner-claims-6-squatter-login');
  await other.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
  await shot(other, 'owner-claims-7-squatter-refused');
  return { loginToAcceptedMs: { owner: ms } };
}

// joinRequest: three people ask for access on Doorman's own page (an address of a
// domain that needs approval, one the policy auto-approves, one it denies) and each
// reads the page that follows; the first confirms the address from the emailed link,
// and the page says what follows.
async function joinRequest() {
  await accessible(`${input.base}/join`, 'join-request-page');
  const pageTexts = {};
  for (const role of ['asker', 'auto', 'denied']) {
    const page = await newPerson();
    await page.goto(`${input.base}/join`);
    await page.getByLabel('Email address').fill(input[role].email);
    await page.getByLabel('Your name').fill('Joiner');
    await page.getByLabel(/A note/).fill('Please let me in.');
    await shot(page, `join-request-${role}-1-form`);
    await page.getByRole('button', { name: 'Ask for access' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await shot(page, `join-request-${role}-2-sent`);
    pageTexts[role] = await page.locator('main').innerText();
  }
  const outcomes = {};
  outcomes.asker = await confirmAddress(input.asker.email, 'join-request-asker');
  return { pageTexts, outcomes };
}

// joinAuto: the person of an auto-approved domain, sent on to the invitation's page
// by the confirmation, continues there, sets a password and signs in.
async function joinAuto() {
  const who = input.auto;
  const page = await newPerson();
  const heading = await confirmAddress(who.email, 'join-auto', page);
  if (heading !== 'You are invited') fail(`after confirming: ${heading}, want the invitation's page`);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/i/')), page.getByRole('button', { name: 'Continue' }).click()]);
  await setPassword(page, 'join-auto-5-password', 'join-auto-6-password-changed');
  await page.goto(loginURL());
  await submitLogin(page, who, 'join-auto-7-login');
  await page.getByText(`You are logged in as ${who.email}.`).waitFor();
  await shot(page, 'join-auto-8-logged-in');
  return { outcomes: { auto: heading } };
}

// joinAccept: the approved requester follows the invitation email, sets a password
// and signs in.
async function joinAccept() {
  const page = await followLink(await newPerson(), input.app.email, input.app.link, 'join-accept-1');
  await setPassword(page, 'join-accept-2-password', 'join-accept-3-password-changed');
  const ms = await logIn(page, input.app, 'join-accept-4-login', 'join-accept-5-logged-in');
  return { loginToAcceptedMs: { application: ms } };
}

// joinLink: an address outside the link's domains is refused on its page; three
// colleagues redeem it and confirm their addresses, one after another, past its cap;
// then the page of the spent link says nothing more.
async function joinLink() {
  const url = input.link.link;
  await accessible(url, 'join-link-page');
  let page = await newPerson();
  await page.goto(url);
  await page.getByText('invites you to join').waitFor();
  await shot(page, 'join-link-1-page');
  await page.getByLabel('Email address').fill(input.wrong.email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Please check the form' }).waitFor();
  await shot(page, 'join-link-2-other-domain');
  const people = ['l1', 'l2', 'l3'];
  for (const role of people) {
    page = await newPerson();
    await page.goto(url);
    await page.getByLabel('Email address').fill(input[role].email);
    await page.getByLabel('Your name').fill('Colleague');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  }
  const outcomes = {};
  for (const role of people) outcomes[role] = await confirmAddress(input[role].email, `join-link-${role}`);
  page = await newPerson();
  await page.goto(url);
  await page.getByText('This link is not valid.').waitFor();
  await shot(page, 'join-link-9-spent');
  return { outcomes };
}

// confirmAddress opens the verification link emailed to `to` (in page, or a new
// browser), presses the button, and returns the heading of the page that follows: the
// request's, or, approved at once, the invitation's.
async function confirmAddress(to, name, page) {
  const link = await verifyLinkFor(to);
  page ??= await newPerson();
  await accessible(link, `${name}-confirm-page`);
  await page.goto(link);
  const confirm = page.getByRole('button', { name: 'Confirm my request' });
  await confirm.waitFor();
  await shot(page, `${name}-3-confirm`);
  await confirm.click();
  const done = page.getByRole('heading', { name: /^(Request confirmed|You are in|You are invited|Link no longer available)$/ });
  await done.waitFor();
  await shot(page, `${name}-4-confirmed`);
  return done.innerText();
}

// verifyLinkFor waits for the verification email to `to` and returns its link.
async function verifyLinkFor(to) {
  const re = new RegExp(`${escape(input.base)}/r/[A-Za-z0-9_-]+`);
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const e of await sentMail()) {
      const link = (e.destination?.to ?? []).includes(to) && e.body?.text?.match(re)?.[0];
      if (link) return link;
    }
    await sleep(100);
  }
  fail(`no verification link emailed to ${to} within ${MAIL_TIMEOUT_MS} ms`);
}

// accessible runs axe-core's WCAG 2 A and AA rules on the page at url (a GET, which
// changes nothing) and fails on a serious or critical violation. The page is opened in
// a context of its own that lets axe's script in past the page's CSP; the flows' own
// pages keep their CSP.
async function accessible(url, name) {
  const context = await browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.addScriptTag({ path: axePath });
    const res = await page.evaluate(() => globalThis.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (bad.length > 0) fail(`${name}: accessibility violations: ${bad.map((v) => `${v.id} ×${v.nodes.length}`).join(', ')}`);
    log(`${name}: axe: ${res.passes.length} rules passed, ${res.violations.length} minor violations`);
  } finally {
    await context.close();
  }
}

async function newPerson() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  return context.newPage();
}

// followLink reads the email to `to` that carries `link` as its reader does: the
// HTML rendered in the browser, the button clicked, which opens a new tab; there it
// presses Continue, and returns that tab.
async function followLink(mailPage, to, link, name) {
  const mail = await mailWith(to, link);
  await mailPage.setContent(mail.body.html);
  await shot(mailPage, `${name}-email`);
  const [page] = await Promise.all([
    mailPage.context().waitForEvent('page'),
    mailPage.locator(`a[href="${link}"]`).first().click(),
  ]);
  await mailPage.close();
  await page.waitForURL(link);
  await page.getByText('invited you to join').waitFor();
  await shot(page, `${name}-landing`);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/i/')), page.getByRole('button', { name: 'Continue' }).click()]);
  return page;
}

// mailWith returns the email to `to` in the local SES store whose HTML links to link.
async function mailWith(to, link) {
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const found = (await sentMail()).find((e) => (e.destination?.to ?? []).includes(to) && e.body?.html?.includes(`href="${link}"`));
    if (found) return found;
    await sleep(100);
  }
  fail(`no email to ${to} whose HTML links to its Doorman link`);
}

async function sentMail() {
  const resp = await fetch(`${input.ses}/store`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  if (!resp.ok) fail(`GET ${input.ses}/store: status ${resp.status}`);
  return (await resp.json()).emails ?? [];
}

async function setPassword(page, formName, doneName) {
  await page.getByRole('heading', { name: 'Change Your Password' }).waitFor();
  await page.getByLabel('New password', { exact: true }).fill(input.password);
  await page.getByLabel('Re-enter new password').fill(input.password);
  await shot(page, formName);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.getByRole('heading', { name: 'Password Changed!' }).waitFor();
  await shot(page, doneName);
}

// logIn signs in on the application's login page and returns the milliseconds from
// the click to the invitation showing as accepted through the API.
async function logIn(page, who, formName, doneName) {
  await page.goto(loginURL());
  const clicked = await submitLogin(page, who, formName);
  await page.getByText(`You are logged in as ${who.email}.`).waitFor();
  await shot(page, doneName);
  return recordedAfter(who.id, clicked, 'accepted');
}

function loginURL() {
  return `${input.base}/login?client_id=${encodeURIComponent(input.loginClient)}`;
}

// submitLogin fills the stand-in's login form open on page with who's address and
// password (the flow's own unless they bring theirs), clicks Log in, and returns when
// it clicked.
async function submitLogin(page, who, formName) {
  const form = page.locator('form.login');
  await form.getByLabel('Email address').fill(who.email);
  await form.getByLabel('Password').fill(who.password ?? input.password);
  await shot(page, formName);
  const clicked = Date.now();
  await form.getByRole('button', { name: 'Log in' }).click();
  return clicked;
}

// signUp creates the invitee's account on the organization invitation's login page,
// which also signs them in.
async function signUp(page, who, formName, doneName) {
  await page.getByRole('heading', { name: /^Accept your invitation to / }).waitFor();
  const form = page.locator('form.signup');
  const email = await form.getByLabel('Email address').inputValue();
  if (email !== who.email) fail(`signup form offers ${email}, want ${who.email}`);
  await form.getByLabel('Password').fill(input.password);
  await shot(page, formName);
  const clicked = Date.now();
  await form.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText(`Your account ${who.email} was created.`).waitFor();
  await shot(page, doneName);
  return recordedAfter(who.id, clicked, 'accepted');
}

// recordedAfter waits until the invitation's history, read through the API, holds
// event, and returns the milliseconds since `since`.
async function recordedAfter(id, since, event) {
  const deadline = since + ACCEPT_TIMEOUT_MS;
  let status, history;
  while (Date.now() < deadline) {
    const resp = await fetch(`${input.base}/v1/invitations/${id}`, {
      headers: { Authorization: `Bearer ${input.token}` },
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    if (!resp.ok) fail(`GET /v1/invitations/${id}: status ${resp.status}`);
    ({ status, history = [] } = await resp.json());
    if (history.some((h) => h.event === event)) {
      const ms = Date.now() - since;
      log(`invitation ${id}: ${event} ${ms} ms after the click`);
      return ms;
    }
    await sleep(20);
  }
  fail(`invitation ${id} is ${status} without ${event} ${ACCEPT_TIMEOUT_MS} ms after the click (history ${history.map((h) => h.event)})`);
}

// newLinkFor waits for an email to `to` in the local SES store whose Doorman link is
// not `old`.
async function newLinkFor(to, old) {
  const re = new RegExp(`${escape(input.base)}/i/[A-Za-z0-9_-]+`);
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const e of await sentMail()) {
      const link = (e.destination?.to ?? []).includes(to) && e.body?.text?.match(re)?.[0];
      if (link && link !== old) return link;
    }
    await sleep(100);
  }
  fail(`no new link emailed to ${to} within ${MAIL_TIMEOUT_MS} ms`);
}

async function shot(page, name) {
  const file = join(input.out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  log(`${name}: ${await page.title()}`);
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(msg) {
  console.error(`flow ${scenario}: ${msg}`);
}

function fail(msg) {
  throw new Error(msg);
}
