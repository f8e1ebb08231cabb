// Bulk actions on the selected contacts or on everything matching the filter, and the CSV export.

import { api, allMatchingUsers, eachInParallel } from './api.js';
import { $, h, clear, formatNumber, confirmAction } from './dom.js';
import { toQuery } from './state.js';

/** Shows who is selected and what can be done to them; keeps the table's checkboxes in step. */
export function renderSelection(ctx) {
  const users = ctx.result?.users ?? [];
  for (const tr of document.querySelectorAll('#table tbody tr')) {
    const selected = ctx.allMatching || ctx.selection.has(tr.dataset.id);
    tr.classList.toggle('selected', selected);
    tr.querySelector('td.select input').checked = selected;
  }
  const all = $('#table thead th.select input');
  if (all) all.checked = users.length > 0 && (ctx.allMatching || users.every((u) => ctx.selection.has(u._id)));

  const bar = $('#bulk');
  const total = ctx.result?.meta.total ?? 0;
  const count = ctx.allMatching ? total : ctx.selection.size;
  if (count === 0 && !ctx.bulkMessage) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  if (count === 0) {
    clear(bar, h('div', { class: 'bulk-message', role: 'status' }, ctx.bulkMessage),
      h('button', { type: 'button', class: 'ghost', onclick: () => { ctx.bulkMessage = null; renderSelection(ctx); } }, 'Dismiss'));
    return;
  }
  const scope = ctx.allMatching
    ? [`All ${formatNumber(total)} matching contacts are selected. `,
      h('button', { type: 'button', class: 'link', onclick: () => clearSelection(ctx) }, 'Clear the selection')]
    : [`${formatNumber(count)} selected. `,
      total > count ? h('button', { type: 'button', class: 'link', id: 'select-all-matching', onclick: () => { ctx.allMatching = true; renderSelection(ctx); } },
        `Select all ${formatNumber(total)} matching`) : null,
      ' ', h('button', { type: 'button', class: 'link', onclick: () => clearSelection(ctx) }, 'Clear')];

  const statuses = ['OPEN', 'PENDING', 'CLOSED', 'DELETED', ...ctx.knownStatuses].filter((s, i, a) => a.indexOf(s) === i);
  const status = h('select', { id: 'bulk-status', 'aria-label': 'New status' }, statuses.map((s) => h('option', { value: s }, s)));
  const tag = h('input', { id: 'bulk-tag', list: 'tag-suggestions', placeholder: 'tag', 'aria-label': 'Tag to add or remove', autocomplete: 'off' });
  const agent = h('select', { id: 'bulk-agent', 'aria-label': 'Agent to assign' },
    h('option', { value: '' }, 'Unassigned'), ctx.catalog.agents.map((a) => h('option', { value: a._id }, a.name)));

  clear(bar,
    h('p', { class: 'bulk-scope' }, scope),
    h('div', { class: 'bulk-actions' },
      ctx.role === 'admin' ? h('span', { class: 'bulk-group' }, status,
        h('button', { type: 'button', id: 'bulk-status-apply', onclick: () => setStatus(ctx, status.value) }, 'Set status')) : null,
      h('span', { class: 'bulk-group' }, tag,
        h('button', { type: 'button', id: 'bulk-tag-add', onclick: () => changeTag(ctx, tag.value.trim(), true) }, 'Add tag'),
        h('button', { type: 'button', id: 'bulk-tag-remove', onclick: () => changeTag(ctx, tag.value.trim(), false) }, 'Remove tag')),
      h('span', { class: 'bulk-group' }, agent,
        h('button', { type: 'button', id: 'bulk-agent-apply', onclick: () => assign(ctx, agent.value || null) }, 'Assign'))),
    h('div', { id: 'bulk-progress', class: 'bulk-message', role: 'status' }, ctx.bulkMessage ?? ''));
}

export function clearSelection(ctx) {
  ctx.selection.clear();
  ctx.allMatching = false;
  renderSelection(ctx);
}

function progress(text) {
  const box = $('#bulk-progress');
  if (box) box.textContent = text;
}

/** The contacts to act on: the selection, or every contact matching the filter, read 500 at a time. */
async function targets(ctx) {
  if (!ctx.allMatching) return [...ctx.selection.values()];
  const body = toQuery(ctx.state, ctx.catalog.botsById);
  return allMatchingUsers(body, (got, total) => progress(`Collecting the contacts: ${formatNumber(got)} of ${formatNumber(total)}…`));
}

async function run(ctx, question, action) {
  const count = ctx.allMatching ? ctx.result.meta.total : ctx.selection.size;
  if (count > 1 && !(await confirmAction(question(formatNumber(count)), 'Apply'))) return;
  for (const button of document.querySelectorAll('#bulk button')) button.disabled = true;
  try {
    const users = await targets(ctx);
    const summary = await action(users);
    ctx.selection.clear();
    ctx.allMatching = false;
    ctx.bulkMessage = summary;
    ctx.reload();
  } catch (e) {
    ctx.notify(e);
    for (const button of document.querySelectorAll('#bulk button')) button.disabled = false;
    progress('');
  }
}

function failures(failed) {
  if (failed.length === 0) return '';
  const first = failed[0].error;
  return ` ${formatNumber(failed.length)} failed: ${first.explanation ?? first.message}${first.problems?.length ? ` (${first.problems[0]})` : ''}`;
}

/** PUT /inbox/users/status-update takes up to 10,000 ids a call (admin). */
function setStatus(ctx, status) {
  return run(ctx, (n) => `Set the status of ${n} contacts to ${status}?`, async (users) => {
    let updated = 0;
    const ids = users.map((u) => u._id);
    for (let start = 0; start < ids.length; start += 10000) {
      progress(`Setting the status: ${formatNumber(start)} of ${formatNumber(ids.length)}…`);
      const { data } = await api.setStatus(ids.slice(start, start + 10000), status);
      updated += data.updated;
    }
    return `Status set to ${status} on ${formatNumber(updated)} ${updated === 1 ? 'contact' : 'contacts'}.`;
  });
}

/** Tags replace on PUT, so each contact gets its own list with the tag added or taken out. */
function changeTag(ctx, tag, add) {
  if (!tag) return ctx.notify({ explanation: 'Type the tag to add or remove first.' });
  const same = (t) => t.toLowerCase() === tag.toLowerCase();
  return run(ctx, (n) => `${add ? 'Add' : 'Remove'} the tag “${tag}” ${add ? 'to' : 'from'} ${n} contacts?`, async (users) => {
    const toChange = users.filter((u) => u.profile.userDetails.tags.some(same) !== add);
    const failed = await eachInParallel(toChange, (u) => {
      const old = u.profile.userDetails.tags;
      const tags = add ? [...old, tag] : old.filter((t) => !same(t));
      return api.updateUser(u._id, { profile: { userDetails: { tags } } });
    }, (done, all) => progress(`${add ? 'Adding' : 'Removing'} “${tag}”: ${formatNumber(done)} of ${formatNumber(all)}…`));
    const changed = toChange.length - failed.length;
    return `Tag “${tag}” ${add ? 'added to' : 'removed from'} ${formatNumber(changed)} ${changed === 1 ? 'contact' : 'contacts'}`
      + `${users.length > toChange.length ? ` (${formatNumber(users.length - toChange.length)} ${add ? 'had it already' : 'did not have it'})` : ''}.${failures(failed)}`;
  });
}

function assign(ctx, agentId) {
  const name = agentId ? ctx.catalog.agentsById.get(agentId)?.name : 'nobody';
  return run(ctx, (n) => `Assign ${n} contacts to ${name}?`, async (users) => {
    const toChange = users.filter((u) => u._agentAssigned !== agentId);
    const failed = await eachInParallel(toChange, (u) => api.updateUser(u._id, { _agentAssigned: agentId }),
      (done, all) => progress(`Assigning: ${formatNumber(done)} of ${formatNumber(all)}…`));
    const changed = toChange.length - failed.length;
    return `${formatNumber(changed)} ${changed === 1 ? 'contact' : 'contacts'} ${agentId ? `assigned to ${name}` : 'unassigned'}.${failures(failed)}`;
  });
}

/** The CSV of everything the current filter matches, in its sort order (admin). */
export async function exportCsv(ctx) {
  const button = $('#export');
  button.disabled = true;
  button.textContent = 'Exporting…';
  try {
    const { page: _page, limit: _limit, ...body } = toQuery(ctx.state, ctx.catalog.botsById);
    const blob = await api.exportCsv(body);
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: `contacts-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    ctx.notify(e);
  } finally {
    button.disabled = false;
    button.textContent = 'Export CSV';
  }
}

