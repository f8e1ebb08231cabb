// The web inbox end to end: headless Chromium against `inboxd serve` with 2,000 demo contacts.
// Every count the page shows is checked against the API called directly with the same body.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  startServer, startBrowser, openInbox, queryAfter, waitForQuery, shownTotal, shownIds, filterPart, csvRecords,
} from './support.js';

let server;
let browser;
let catalog;

before(async () => {
  server = await startServer({ contacts: 2000 });
  browser = await startBrowser(server.base);
  const [bots, agents, segments] = await Promise.all(
    ['/inbox/bots', '/inbox/agents', '/inbox/segments'].map((path) => server.api('GET', path)));
  catalog = { bots: bots.data, agents: agents.data, segments: segments.data };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Asserts the page sent exactly `expected` (paging aside) and shows the total the API gives for it. */
async function assertShowsApiCount(page, sent, expected) {
  assert.deepEqual(filterPart(sent), expected, 'the page sent another body than the contract asks for');
  const { meta, data } = await server.query({ ...expected, page: 1, limit: 20 });
  assert.equal(await shownTotal(page), meta.total, `the page shows another total than the API for ${JSON.stringify(expected)}`);
  assert.deepEqual(await shownIds(page), data.map((u) => u._id), 'the page lists other contacts than the API');
  return meta.total;
}

describe('signing in', () => {
  it('refuses a wrong token in words and accepts the demo token', async () => {
    const page = await openInbox(browser, server, { token: null });
    await page.waitForSelector('#token');
    await page.fill('#token', 'ixd_not_a_real_token');
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#sign-in-error:not([hidden])');
    assert.match(await page.textContent('#sign-in-error'), /not accepted/);

    await page.fill('#token', server.adminToken);
    const sent = await queryAfter(page, () => page.click('#sign-in-form button[type=submit]'));
    assert.deepEqual(sent, { page: 1, limit: 20 });
    const { meta } = await server.query({});
    assert.equal(await shownTotal(page), meta.total);
    assert.equal(await page.$$eval('#table tbody tr', (rows) => rows.length), 20);
    assert.equal(await page.textContent('#workspace-role'), 'Admin');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('inboxd.token')), server.adminToken);
    assert.deepEqual(page.pageErrors, []);
    await page.close();
  });

  it('shows an agent only what an agent may do', async () => {
    const page = await openInbox(browser, server, { token: server.agentToken });
    await page.waitForSelector('#workspace-role:not([hidden])');
    assert.equal(await page.textContent('#workspace-role'), 'Agent');
    assert.equal(await page.isVisible('#export'), false, 'export needs an admin');
    assert.equal(await page.isVisible('#segment-new'), false, 'saving segments needs an admin');
    assert.equal(await page.$$eval('#segment-list button.remove', (b) => b.length), 0);
    await page.click('#table tbody tr:first-child td.select input');
    await page.waitForSelector('#bulk:not([hidden])');
    assert.equal(await page.$('#bulk-status-apply'), null, 'bulk status changes need an admin');
    assert.ok(await page.$('#bulk-tag-add'));
    await page.close();
  });

  it('sends a revoked or unknown token back to the sign-in form', async () => {
    const page = await openInbox(browser, server, { token: 'ixd_0000', wait: false });
    await page.waitForSelector('#sign-in:not([hidden])');
    assert.match(await page.textContent('#sign-in-error'), /no longer accepted|not accepted/);
    await page.close();
  });
});

describe('filters', () => {
  let page;
  before(async () => { page = await openInbox(browser, server); });
  after(async () => { await page.close(); });

  /** Each filter from a clean view: act on the panel, then compare the body and the count with the API. */
  async function check(expected, act) {
    await queryAfter(page, () => page.goto(server.base));
    const sent = await queryAfter(page, act);
    const total = await assertShowsApiCount(page, sent, expected);
    return total;
  }

  it('searches as one types', async () => {
    const total = await check({ searchText: 'maria' }, () => page.fill('#search', 'maria'));
    assert.ok(total > 0, 'the demo has a Maria');
    assert.match(page.url(), /[?&]q=maria/);
  });

  it('filters by tag, status, bot, agent and unassigned, segment and last message by', async () => {
    const whatsapp = catalog.bots.find((b) => b.platform === 'WHATSAPP');
    const agent = catalog.agents[0];
    const segment = catalog.segments[0];
    const addTag = async () => {
      await page.fill('#tag-input', 'vip');
      await page.press('#tag-input', 'Enter');
    };
    assert.ok(await check({ tags: ['vip'] }, addTag) > 0);
    assert.ok(await check({ status: ['CLOSED'] }, () => page.check('[data-list="status"][value="CLOSED"]')) > 0);
    assert.ok(await check({ status: ['DELETED'] }, () => page.check('[data-list="status"][value="DELETED"]')) > 0);
    assert.ok(await check({ _botWhatsapp: [whatsapp._id] }, () => page.check(`[data-list="bots"][value="${whatsapp._id}"]`)) > 0);
    assert.ok(await check({ _agentAssigned: ['UNASSIGNED'] }, () => page.check('[data-list="agents"][value="UNASSIGNED"]')) > 0);
    assert.ok(await check({ _agentAssigned: [agent._id] }, () => page.check(`[data-list="agents"][value="${agent._id}"]`)) > 0);
    assert.ok(await check({ segments: [segment._id] }, () => page.check(`[data-segment="${segment._id}"]`)) > 0);
    assert.ok(await check({ lastMessageBy: ['agent'] }, () => page.check('[data-list="lastMessageBy"][value="agent"]')) > 0);
  });

  it('splits bots of several channels into their own fields', async () => {
    const [website, telegram] = ['WEBSITE', 'TELEGRAM'].map((p) => catalog.bots.find((b) => b.platform === p));
    await queryAfter(page, () => page.goto(server.base));
    await queryAfter(page, () => page.check(`[data-list="bots"][value="${website._id}"]`));
    const sent = await queryAfter(page, () => page.check(`[data-list="bots"][value="${telegram._id}"]`));
    await assertShowsApiCount(page, sent, { _botWebsite: [website._id], _botTelegram: [telegram._id] });
  });

  it('filters by last-seen and created date ranges', async () => {
    const seen = await check({ lastSeenAt: { startAt: '2026-01-01', endsAt: '' } }, () => page.fill('[data-text="seenFrom"]', '2026-01-01'));
    assert.ok(seen > 0);
    await check({ createdAt: { startAt: '', endsAt: '2025-12-31' } }, () => page.fill('[data-text="createdTo"]', '2025-12-31'));
  });

  it('sends each yes/no filter through applicableFilters', async () => {
    for (const [key, value] of [['isOnline', true], ['userInteracted', false], ['isLiveChatActive', true], ['isSubscriber', true]]) {
      await check({ [key]: value, applicableFilters: [key] },
        () => page.selectOption(`[data-toggle="${key}"]`, value ? 'yes' : 'no'));
    }
    const ordered = await check({ hasOrdered: { status: true, lastAt: '' }, applicableFilters: ['hasOrdered'] },
      () => page.selectOption('[data-toggle="hasOrdered"]', 'yes'));
    assert.ok(ordered > 0);
    const sent = await queryAfter(page, () => page.fill('[data-text="orderedSince"]', '2026-06-01'));
    await assertShowsApiCount(page, sent, { hasOrdered: { status: true, lastAt: '2026-06-01' }, applicableFilters: ['hasOrdered'] });
  });

  it('shows contacts only, newest first', async () => {
    await check({ isContact: true }, () => page.check('[data-flag="contactsOnly"]'));
    assert.equal(await page.getAttribute('#table th[aria-sort]', 'aria-sort'), 'descending');
    assert.ok(await page.$('#sort-createdAt.active'), 'the contacts view sorts by created, newest first');
  });

  it('combines filters, keeps them in the URL, and removes one with its chip', async () => {
    const agent = catalog.agents[1];
    await queryAfter(page, () => page.goto(server.base));
    await queryAfter(page, () => page.check('[data-list="status"][value="OPEN"]'));
    await queryAfter(page, () => page.check(`[data-list="agents"][value="${agent._id}"]`));
    const combined = await queryAfter(page, () => page.selectOption('[data-toggle="isSubscriber"]', 'yes'));
    const expected = { status: ['OPEN'], _agentAssigned: [agent._id], isSubscriber: true, applicableFilters: ['isSubscriber'] };
    await assertShowsApiCount(page, combined, expected);

    // A link shares the view: a new tab on the same URL sends the same query.
    const other = await browser.context.newPage();
    await other.addInitScript((t) => sessionStorage.setItem('inboxd.token', t), server.adminToken);
    const restored = await queryAfter(other, () => other.goto(page.url()));
    assert.deepEqual(filterPart(restored), expected);
    assert.equal(await other.$$eval('#chips .chip', (chips) => chips.length), 3);
    await other.close();

    const chip = page.locator('#chips .chip', { hasText: 'Status: OPEN' }).getByRole('button');
    const sent = await queryAfter(page, () => chip.click());
    await assertShowsApiCount(page, sent, { _agentAssigned: [agent._id], isSubscriber: true, applicableFilters: ['isSubscriber'] });
    assert.doesNotMatch(page.url(), /status=/);
  });

  it('explains a refused query in words', async () => {
    await queryAfter(page, () => page.goto(`${server.base}/?seenFrom=2026-02-01&seenTo=2026-01-01`));
    await page.waitForSelector('#notice:not([hidden])');
    assert.match(await page.textContent('#notice'), /lastSeenAt/);
  });

  it('says so when nothing matches', async () => {
    await queryAfter(page, () => page.goto(server.base));
    await queryAfter(page, () => page.fill('#search', 'zzqqxx-nobody'));
    await page.waitForSelector('#empty:not([hidden])');
    assert.match(await page.textContent('#empty'), /No contacts match/);
    const sent = await queryAfter(page, () => page.click('#empty button'));
    assert.deepEqual(filterPart(sent), {});
  });
});

describe('paging and sorting', () => {
  let page;
  before(async () => { page = await openInbox(browser, server); });
  after(async () => { await page.close(); });

  it('pages through with the exact total and the page size chosen', async () => {
    const { meta } = await server.query({});
    assert.match(await page.textContent('#pager'), new RegExp(`of ${meta.totalPages}`));
    let sent = await queryAfter(page, () => page.click('#page-next'));
    assert.equal(sent.page, 2);
    assert.deepEqual(await shownIds(page), (await server.query({ page: 2 })).data.map((u) => u._id));
    assert.match(page.url(), /page=2/);

    sent = await queryAfter(page, () => page.selectOption('#page-size', '50'));
    assert.deepEqual(sent, { page: 1, limit: 50 });
    assert.equal((await shownIds(page)).length, 50);

    sent = await queryAfter(page, () => page.click('#page-last'));
    const last = Math.ceil(meta.total / 50);
    assert.equal(sent.page, last);
    assert.equal((await shownIds(page)).length, meta.total - (last - 1) * 50);
    assert.match(await page.textContent('#total'), new RegExp(`of ${meta.total.toLocaleString('en-GB')} contacts`));

    await page.fill('#page-input', '3');
    sent = await queryAfter(page, () => page.press('#page-input', 'Enter'));
    assert.equal(sent.page, 3);
  });

  it('sorts by every sortable column', async () => {
    for (const by of ['lastSeenAt', 'createdAt', 'updatedAt', 'lastMessageAt', 'name']) {
      const sent = await queryAfter(page, () => page.selectOption('#sort-by', by));
      const order = by === 'name' ? 'asc' : 'desc';
      assert.deepEqual(sent.sort, { by, order });
      assert.deepEqual(await shownIds(page), (await server.query({ sort: { by, order }, limit: sent.limit })).data.map((u) => u._id));
    }
    const reversed = await queryAfter(page, () => page.click('#sort-order'));
    assert.deepEqual(reversed.sort, { by: 'name', order: 'desc' });
    const byHeader = await queryAfter(page, () => page.click('#table th button:has-text("Last seen")'));
    assert.deepEqual(byHeader.sort, { by: 'lastSeenAt', order: 'desc' });
    const flipped = await queryAfter(page, () => page.click('#table th button:has-text("Last seen")'));
    assert.deepEqual(flipped.sort, { by: 'lastSeenAt', order: 'asc' });
    assert.deepEqual(await shownIds(page), (await server.query({ sort: flipped.sort, limit: flipped.limit })).data.map((u) => u._id));
  });
});

describe('the user drawer', () => {
  it('shows a contact and saves status, agent, tags, attributes and a note', async () => {
    const page = await openInbox(browser, server);
    const id = (await shownIds(page))[0];
    await page.click('#table tbody tr:first-child button.name');
    await page.waitForSelector('#drawer[open] #edit-status');
    const before = (await server.api('GET', `/inbox/users/${id}`)).data;
    assert.equal(await page.inputValue('#edit-status'), before.status);
    const agent = catalog.agents.find((a) => a._id !== before._agentAssigned);

    await page.fill('#edit-status', 'pending');
    await page.selectOption('#edit-agent', agent._id);
    await page.fill('#edit-tag', 'e2e drawer');
    await page.press('#edit-tag', 'Enter');
    await page.click('#drawer button:has-text("+ Add attribute")');
    await page.fill('#drawer tr:last-child .attr-key', 'favouriteDrink');
    await page.fill('#drawer tr:last-child .attr-value', 'flat white');
    await Promise.all([waitForQuery(page), page.click('#edit-save')]);
    await page.waitForSelector('#drawer-message:has-text("Saved")');

    const after = (await server.api('GET', `/inbox/users/${id}`)).data;
    assert.equal(after.status, 'PENDING');
    assert.equal(after._agentAssigned, agent._id);
    assert.deepEqual(after.profile.userDetails.tags, [...before.profile.userDetails.tags, 'e2e drawer']);
    assert.ok(after.profile.userDetails.attributes.some((a) => a.key === 'favouriteDrink' && a.value === 'flat white'));

    await page.fill('#note-title', 'Called back');
    await page.fill('#note-description', 'Wants the gold plan.');
    await Promise.all([waitForQuery(page), page.click('#note-add')]);
    await page.waitForSelector('#drawer .notes li:has-text("Called back")');
    const noted = (await server.api('GET', `/inbox/users/${id}`)).data;
    assert.deepEqual(noted.profile.notes.map((n) => [n.title, n.description]).pop(), ['Called back', 'Wants the gold plan.']);

    // A value the server refuses is explained in words, naming the field.
    await page.fill('#edit-status', 'not a status!');
    await page.click('#edit-save');
    await page.waitForSelector('#drawer-error:not([hidden])');
    assert.match(await page.textContent('#drawer-error'), /status/);

    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#drawer'), false);
    await page.close();
  });
});

describe('bulk actions and export', () => {
  it('sets the status of the selected contacts', async () => {
    const page = await openInbox(browser, server, { path: '/?tag=newsletter&status=OPEN' });
    const ids = (await shownIds(page)).slice(0, 3);
    for (const id of ids) await page.check(`#table tr[data-id="${id}"] td.select input`);
    await page.selectOption('#bulk-status', 'CLOSED');
    await page.click('#bulk-status-apply');
    await page.waitForSelector('#confirm-dialog[open]');
    await Promise.all([waitForQuery(page), page.click('#confirm-dialog button.primary')]);
    for (const id of ids) assert.equal((await server.api('GET', `/inbox/users/${id}`)).data.status, 'CLOSED');
    assert.match(await page.textContent('#bulk'), /Status set to CLOSED on 3 contacts/);
    await assertShowsApiCount(page, { tags: ['newsletter'], status: ['OPEN'] }, { tags: ['newsletter'], status: ['OPEN'] });
    await page.close();
  });

  it('adds a tag to everything matching the filter, page after page', async () => {
    const page = await openInbox(browser, server, { path: '/?tag=vip&limit=10' });
    const total = await shownTotal(page);
    assert.ok(total > 10, 'more than one page matches');
    await page.check('#table thead th.select input');
    await page.click('#select-all-matching');
    await page.fill('#bulk-tag', 'e2e-bulk');
    await page.click('#bulk-tag-add');
    await page.click('#confirm-dialog button.primary');
    await page.waitForSelector('#bulk .bulk-message:has-text("added to")', { timeout: 30_000 });
    const { meta } = await server.query({ tags: ['e2e-bulk'] });
    assert.equal(meta.total, total);
    assert.match(await page.textContent('#bulk'), new RegExp(`added to ${total} contacts`));
    await page.close();
  });

  it('exports the current filter as CSV', async () => {
    const page = await openInbox(browser, server, { path: '/?tag=vip&subscriber=yes' });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    assert.match(download.suggestedFilename(), /^contacts-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = await readFile(await download.path(), 'utf8');
    assert.ok(text.startsWith('_id,uuid,name,userProvidedName,email,phone,'));
    const { meta } = await server.query({ tags: ['vip'], isSubscriber: true, applicableFilters: ['isSubscriber'] });
    assert.equal(csvRecords(text) - 1, meta.total);
    await page.close();
  });
});

describe('segments', () => {
  it('lists segments with live counts, saves one from the tag filter, and deletes it', async () => {
    const page = await openInbox(browser, server, { path: '/?tag=vip&tag=newsletter' });
    const counts = await page.$$eval('#segment-list .segment .count', (els) => els.map((e) => Number(e.textContent.replace(/\D/g, ''))));
    const live = (await server.api('GET', '/inbox/segments')).data.map((s) => s.count);
    assert.deepEqual(counts, live);

    await page.click('#segment-new');
    await page.waitForSelector('#segment-dialog[open]');
    assert.equal(await page.$$eval('#segment-dialog .condition', (rows) => rows.length), 2);
    await page.fill('#segment-name', 'E2E VIP readers on gold');
    await page.click('#add-attribute-condition');
    await page.fill('#segment-dialog .condition:last-child .cond-key', 'plan');
    await page.fill('#segment-dialog .condition:last-child .cond-value', 'gold');
    await page.selectOption('#segment-match', 'all');
    await page.click('#segment-save');
    await page.waitForSelector('#segment-list .segment:has-text("E2E VIP readers on gold")');
    const saved = (await server.api('GET', '/inbox/segments')).data.find((s) => s.segmentName === 'E2E VIP readers on gold');
    assert.deepEqual(saved.conditions, [
      { field: 'tag', operator: 'is', value: 'vip' },
      { field: 'tag', operator: 'is', value: 'newsletter' },
      { field: 'attribute', key: 'plan', operator: 'is', value: 'gold' },
    ]);
    const row = page.locator('#segment-list .segment', { hasText: 'E2E VIP readers on gold' });
    assert.equal(Number((await row.locator('.count').textContent()).replace(/\D/g, '')), saved.count);

    await row.getByRole('button', { name: /Delete segment/ }).click();
    await page.click('#confirm-dialog button.primary');
    await page.waitForSelector('#segment-list .segment:has-text("E2E VIP readers on gold")', { state: 'detached' });
    const left = (await server.api('GET', '/inbox/segments')).data;
    assert.ok(!left.some((s) => s._id === saved._id));
    await page.close();
  });

  it('explains a refused segment in words', async () => {
    const page = await openInbox(browser, server);
    await page.click('#segment-new');
    await page.fill('#segment-name', 'Broken');
    await page.click('#add-attribute-condition');
    await page.click('#segment-save');
    await page.waitForSelector('#segment-dialog .error:not([hidden])');
    assert.match(await page.textContent('#segment-dialog .error'), /conditions\[0\]/);
    await page.close();
  });
});

describe('the page itself', () => {
  it('is served without a token, with content types and caching headers, and the API keeps its JSON 404', async () => {
    const index = await fetch(`${server.base}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const etag = index.headers.get('etag');
    assert.equal((await fetch(`${server.base}/`, { headers: { 'If-None-Match': etag } })).status, 304);
    const script = await fetch(`${server.base}/ui/js/app.js`);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const missing = await fetch(`${server.base}/inbox/nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).success, false);
  });

  it('can be used with the keyboard alone', async () => {
    const page = await openInbox(browser, server);
    await page.focus('#search');
    await page.keyboard.type('maria');
    await waitForQuery(page);
    // Tab from the search box reaches the table's first contact, which Enter opens.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.classList.contains('name'));
    }
    assert.ok(reached, 'a contact name is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#drawer[open] #edit-status');
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#drawer'), false);
    await page.close();
  });
});
