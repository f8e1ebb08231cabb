// Test support: the real inboxd binary with demo data on a free port, headless Chromium, and the API.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The binary cargo built; the tests build nothing themselves. */
export const binary = process.env.INBOXD_BIN ?? join(root, 'target', 'debug', 'inboxd');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const screenshotDir = join(root, 'docs', 'screenshots');

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function lastLine(args) {
  const { stdout } = await run(binary, args, { maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').pop().trim();
}

/** `inboxd demo` into a fresh store, then `inboxd serve` on a free port; resolves once /health answers. */
export async function startServer({ contacts = 2000 } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'inboxd-e2e-'));
  const db = join(dir, 'inboxd.db');
  const adminToken = await lastLine(['demo', '--contacts', String(contacts), '--db', db]);
  const agentToken = await lastLine(['token', 'create', '--workspace', 'demo', '--role', 'agent', '--db', db]);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log = (log + chunk).slice(-20000); });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`inboxd serve exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`inboxd serve did not answer /health within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const server = {
    base, adminToken, agentToken, db,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
    /** A JSON call to the API with the admin token; resolves to the envelope. */
    async api(method, path, body, token = adminToken) {
      const response = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const envelope = await response.json();
      if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(envelope)}`);
      return envelope;
    },
    query: (body) => server.api('POST', '/inbox/users', body),
  };
  return server;
}

/** Headless Debian Chromium in a fresh profile. Every request that leaves the test server is refused. */
export async function startBrowser(base) {
  const profile = await mkdtemp(join(tmpdir(), 'inboxd-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  await context.route((url) => url.origin !== base, (route) => route.abort());
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A new tab (so a new sessionStorage), signed in with the token unless told otherwise. */
export async function openInbox(browser, server, { token = server.adminToken, path = '/', viewport, wait = true } = {}) {
  const page = await browser.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.pageErrors = errors;
  // Console errors other than failed loads (the refused outside requests, the API's 4xx) are bugs:
  // a blocked inline style or script under the page's Content-Security-Policy shows up here.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(new Error(message.text()));
  });
  if (token) await page.addInitScript((t) => sessionStorage.setItem('inboxd.token', t), token);
  const loaded = token && wait ? waitForQuery(page) : null;
  await page.goto(server.base + path);
  if (loaded) await loaded;
  return page;
}

const isQuery = (response) => response.url().endsWith('/inbox/users') && response.request().method() === 'POST';

/** Waits for the page's next POST /inbox/users and for the page to show its answer; resolves to the body sent. */
export async function waitForQuery(page) {
  const response = await page.waitForResponse(isQuery, { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelector('#loading')?.hidden !== false, null, { timeout: 15_000 });
  return response.request().postDataJSON();
}

/** Runs the action and resolves to the body of the query it made the page send. */
export async function queryAfter(page, action) {
  const [body] = await Promise.all([waitForQuery(page), action()]);
  return body;
}

/** The total the page shows (the number behind "1–20 of 1,234 contacts"). */
export async function shownTotal(page) {
  return Number(await page.getAttribute('#total', 'data-total'));
}

export async function shownIds(page) {
  return page.$$eval('#table tbody tr', (rows) => rows.map((r) => r.dataset.id));
}

/** The body without paging, to compare what the page sent with what the test expects. */
export function filterPart(body) {
  const { page: _p, limit: _l, ...rest } = body;
  return rest;
}

/** Counts the records of a CSV text, minding quoted line breaks. */
export function csvRecords(text) {
  let records = 0;
  let quoted = false;
  let empty = true;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === '\n' && !quoted) {
      if (!empty) records += 1;
      empty = true;
    } else {
      empty = false;
    }
  }
  return empty ? records : records + 1;
}
