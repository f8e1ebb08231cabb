// The contacts table (a list of cards on a phone), its sortable headers and the pager.

import { $, h, clear, avatar, displayName, phoneText, channelIcon, when, formatNumber } from './dom.js';
import { PAGE_SIZES } from './state.js';

const COLUMNS = [
  { label: 'Contact', sorts: [['name', 'Contact']] },
  { label: 'Phone and email' },
  { label: 'Tags' },
  { label: 'Status' },
  { label: 'Agent' },
  { label: 'Last message', sorts: [['lastMessageAt', 'Last message']] },
  { label: 'Seen, created', sorts: [['lastSeenAt', 'Last seen'], ['createdAt', 'Created']] },
];

/** The column the server sorts by when the body names none. */
export function effectiveSort(state) {
  return state.sortBy || (state.contactsOnly ? 'createdAt' : 'lastSeenAt');
}

export function renderTable(ctx) {
  const { state, result } = ctx;
  const users = result?.users ?? [];
  const sortedBy = effectiveSort(state);
  const allOnPage = users.length > 0 && users.every((u) => ctx.selection.has(u._id));

  const selectAll = h('input', {
    type: 'checkbox', 'aria-label': 'Select every contact on this page', checked: allOnPage,
    onchange: (e) => {
      for (const u of users) (e.target.checked ? ctx.selection.set(u._id, u) : ctx.selection.delete(u._id));
      ctx.allMatching = false;
      ctx.renderSelection();
    },
  });
  clear($('#table thead'), h('tr', {},
    h('th', { class: 'select' }, selectAll),
    COLUMNS.map((column) => {
      if (!column.sorts) return h('th', { scope: 'col' }, column.label);
      const active = column.sorts.some(([by]) => by === sortedBy);
      return h('th', { scope: 'col', 'aria-sort': active ? (state.order === 'asc' ? 'ascending' : 'descending') : null },
        column.sorts.map(([by, label], i) => [i > 0 ? h('br') : null, sortButton(ctx, by, label, by === sortedBy)]));
    })));
  clear($('#table tbody'), users.map((user) => row(ctx, user)));
  $('#table').hidden = users.length === 0;
  renderEmpty(ctx, users.length === 0 && result !== null);
}

function sortButton(ctx, by, label, active) {
  const { order } = ctx.state;
  return h('button', {
    type: 'button', id: `sort-${by}`, class: `sort-button${active ? ' active' : ''}`,
    title: `Sort by ${label.toLowerCase()}`,
    onclick: () => ctx.setState(active
      ? { sortBy: by, order: order === 'asc' ? 'desc' : 'asc' }
      : { sortBy: by, order: by === 'name' ? 'asc' : 'desc' }),
  }, label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (order === 'asc' ? '▲' : '▼') : '↕'));
}

function row(ctx, user) {
  const details = user.profile?.userDetails ?? {};
  const name = displayName(user);
  const agent = user._agentAssigned ? ctx.catalog.agentsById.get(user._agentAssigned)?.name ?? 'Unknown agent' : null;
  const tags = details.tags ?? [];
  const selected = ctx.selection.has(user._id);
  return h('tr', { class: selected ? 'selected' : null, dataset: { id: user._id } },
    h('td', { class: 'select' }, h('input', {
      type: 'checkbox', checked: selected, 'aria-label': `Select ${name}`,
      onchange: (e) => {
        (e.target.checked ? ctx.selection.set(user._id, user) : ctx.selection.delete(user._id));
        ctx.allMatching = false;
        ctx.renderSelection();
      },
    })),
    h('td', { class: 'contact' }, h('div', { class: 'contact-cell' },
      h('span', { class: 'avatar-wrap' }, avatar(user),
        user.isOnline ? h('span', { class: 'online-dot', title: 'Online now', role: 'img', 'aria-label': 'Online now' }) : null),
      h('span', { class: 'who' },
        h('button', { type: 'button', id: `open-${user._id}`, class: 'name link', onclick: () => ctx.openUser(user._id) }, name),
        h('span', { class: 'badges' },
          (user.platform ?? []).map(channelIcon),
          user.isLiveChatActive ? h('span', { class: 'badge live' }, 'Live chat') : null,
          user.unreadMessages ? h('span', { class: 'badge unread', title: 'Unread messages' }, `${user.unreadMessages} unread`) : null,
          user.isContact ? null : h('span', { class: 'badge muted', title: 'Not a contact: a chat only' }, 'Chat'))))),
    h('td', { class: 'reach', 'data-label': 'Phone, email' }, h('div', { class: 'cell' },
      phoneText(user) ? h('span', { class: 'phone' }, phoneText(user)) : null,
      details.contact?.email ? h('span', { class: 'email', title: details.contact.email }, details.contact.email) : null,
      !phoneText(user) && !details.contact?.email ? h('span', { class: 'muted' }, '—') : null)),
    h('td', { class: 'tags', 'data-label': 'Tags' }, h('div', { class: 'cell' },
      tags.length === 0 ? h('span', { class: 'muted' }, '—') : null,
      tags.slice(0, 3).map((tag) => h('span', { class: 'tag' }, tag)),
      tags.length > 3 ? h('span', { class: 'tag more', title: tags.slice(3).join(', ') }, `+${tags.length - 3}`) : null)),
    h('td', { 'data-label': 'Status' }, h('span', { class: `status ${user.status.toLowerCase()}` }, user.status)),
    h('td', { class: 'agent', 'data-label': 'Agent' }, agent ?? h('span', { class: 'muted' }, 'Unassigned')),
    h('td', { class: 'last-message', 'data-label': 'Last message' }, h('div', { class: 'cell' }, user.lastMessage
      ? [h('span', { class: 'message-text', title: user.lastMessage.text }, user.lastMessage.text),
        h('span', { class: 'message-meta' }, h('span', { class: `by ${user.lastMessage.by}` }, user.lastMessage.by), ' · ', when(user.lastMessage.at))]
      : h('span', { class: 'muted' }, 'No messages'))),
    h('td', { class: 'activity', 'data-label': 'Seen, created' }, h('div', { class: 'cell' },
      h('span', {}, user.lastSeenAt ? ['seen ', when(user.lastSeenAt)] : h('span', { class: 'muted' }, 'never seen')),
      h('span', { class: 'muted' }, 'created ', when(user.createdAt)))));
}

function renderEmpty(ctx, empty) {
  const box = $('#empty');
  box.hidden = !empty;
  if (!empty) return;
  const filtered = ctx.filterCount() > 0;
  const beyondEnd = ctx.result.meta.total > 0;
  clear(box,
    h('p', { class: 'empty-title' }, beyondEnd ? 'This page is past the end.' : filtered ? 'No contacts match these filters.' : 'No contacts yet.'),
    beyondEnd
      ? h('button', { type: 'button', onclick: () => ctx.setState({ page: 1 }, { keepPage: true }) }, 'Go to the first page')
      : filtered
        ? h('button', { type: 'button', onclick: () => ctx.clearFilters() }, 'Clear the filters')
        : h('p', {}, 'Contacts appear here when bots report them or when an admin imports them (POST /inbox/users/import).'));
}

export function renderTotal(ctx) {
  const meta = ctx.result?.meta;
  if (!meta) return;
  const first = meta.total === 0 ? 0 : Math.min((meta.page - 1) * meta.limit + 1, meta.total);
  const last = Math.min(meta.page * meta.limit, meta.total);
  $('#total').textContent = meta.total === 0
    ? 'No contacts'
    : `${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(meta.total)} ${meta.total === 1 ? 'contact' : 'contacts'}`;
  $('#total').dataset.total = String(meta.total);
  $('#filters-done').textContent = meta.total === 0 ? 'No contacts match' : `Show ${formatNumber(meta.total)} ${meta.total === 1 ? 'contact' : 'contacts'}`;
}

export function renderPager(ctx) {
  const meta = ctx.result?.meta;
  const nav = $('#pager');
  if (!meta) return clear(nav);
  const pages = Math.max(meta.totalPages, 1);
  const go = (page) => ctx.setState({ page }, { keepPage: true });
  const pageInput = h('input', {
    id: 'page-input', type: 'number', min: '1', max: String(pages), value: String(meta.page), 'aria-label': 'Page number',
    onchange: (e) => {
      const page = Math.min(Math.max(Number.parseInt(e.target.value, 10) || 1, 1), pages);
      go(page);
    },
  });
  clear(nav,
    h('button', { type: 'button', id: 'page-first', disabled: meta.page <= 1, onclick: () => go(1), 'aria-label': 'First page' }, '«'),
    h('button', { type: 'button', id: 'page-prev', disabled: meta.page <= 1, onclick: () => go(meta.page - 1) }, '‹ Previous'),
    h('span', { class: 'page-of' }, 'Page ', pageInput, ` of ${formatNumber(pages)}`),
    h('button', { type: 'button', id: 'page-next', disabled: meta.page >= pages, onclick: () => go(meta.page + 1) }, 'Next ›'),
    h('button', { type: 'button', id: 'page-last', disabled: meta.page >= pages, onclick: () => go(pages), 'aria-label': 'Last page' }, '»'),
    h('label', { class: 'page-size' }, 'Per page ',
      h('select', { id: 'page-size', onchange: (e) => ctx.setState({ limit: Number(e.target.value) }) },
        PAGE_SIZES.map((size) => h('option', { value: String(size), selected: size === meta.limit }, String(size))))));
}
