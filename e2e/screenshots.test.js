// Screenshots of the main views on a laptop and on a phone. They go to a temporary folder, or to
// docs/screenshots when UPDATE_SCREENSHOTS=1 (to refresh the README's pictures).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startBrowser, openInbox, screenshotDir } from './support.js';

const LAPTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let server;
let browser;
let dir;

before(async () => {
  server = await startServer({ contacts: 2000 });
  browser = await startBrowser(server.base);
  dir = process.env.UPDATE_SCREENSHOTS === '1' ? screenshotDir : await mkdtemp(join(tmpdir(), 'inboxd-shots-'));
  await mkdir(dir, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function shoot(page, name) {
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  assert.ok((await stat(path)).size > 10_000, `${name}.png looks empty`);
  assert.deepEqual(page.pageErrors, [], 'the page threw');
}

const FILTERED = '/?tag=vip&status=OPEN&subscriber=yes&sort=lastMessageAt';

for (const [device, viewport] of [['laptop', LAPTOP], ['phone', PHONE]]) {
  describe(`screenshots on a ${device}`, () => {
    it('the sign-in form', async () => {
      const page = await openInbox(browser, server, { token: null, viewport });
      await page.waitForSelector('#token');
      await shoot(page, `${device}-sign-in`);
      await page.close();
    });

    it('the contacts table', async () => {
      const page = await openInbox(browser, server, { viewport });
      await shoot(page, `${device}-table`);
      await page.close();
    });

    it('the filters in use', async () => {
      const page = await openInbox(browser, server, { viewport, path: FILTERED });
      if (device === 'phone') {
        await page.click('#filters-open');
        await page.waitForSelector('#filters.open');
      } else {
        await page.check('#table tbody tr:nth-child(2) td.select input');
        await page.check('#table tbody tr:nth-child(3) td.select input');
        await page.waitForSelector('#bulk:not([hidden])');
      }
      await shoot(page, `${device}-filters`);
      await page.close();
    });

    it('the user drawer', async () => {
      const page = await openInbox(browser, server, { viewport });
      await page.click('#table tbody tr:first-child button.name');
      await page.waitForSelector('#drawer[open] #edit-status');
      await shoot(page, `${device}-drawer`);
      await page.close();
    });
  });
}
