// The contacts table (a list of cards on a phone), its sortable headers and the pager.

import { $, h, clear, avatar, displayName, phoneText, channelIcon, when, formatNumber } from './dom.js';
import { PAGE_SIZES } from './state.js';

const COLUMNS = [
  { label: 'Contact', sort: 'name' },
  { label: 'Phone and email' },
  { label: 'Channels' },
  { label: 'Tags' },
  { label: 'Status' },
  { label: 'Agent' },
  { label: 'Last message', sort: 'lastMessageAt' },
  { label: 'Last seen', sort: 'lastSeenAt' },
  { label: 'Created', sort: 'createdAt' },
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
      if (!column.sort) return h('th', { scope: 'col' }, column.label);
      const active = column.sort === sortedBy;
      const order = active ? state.order : null;
      return h('th', { scope: 'col', 'aria-sort': active ? (order === 'asc' ? 'ascending' : 'descending') : null },
        h('button', {
          type: 'button', id: `sort-${column.sort}`, class: `sort-button${active ? ' active' : ''}`,
          title: `Sort by ${column.label.toLowerCase()}`,
          onclick: () => ctx.setState(active
            ? { sortBy: column.sort, order: state.order === 'asc' ? 'desc' : 'asc' }
            : { sortBy: column.sort, order: column.sort === 'name' ? 'asc' : 'desc' }),
        }, column.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (order === 'asc' ? '▲' : '▼') : '↕')));
    })));

  clear($('#table tbody'), users.map((user) => row(ctx, user)));
  $('#table').hidden = users.length === 0;
  renderEmpty(ctx, users.length === 0 && result !== null);
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
    h('td', { class: 'contact', 'data-label': 'Contact' },
      h('span', { class: 'avatar-wrap' }, avatar(user),
        user.isOnline ? h('span', { class: 'online-dot', title: 'Online now', role: 'img', 'aria-label': 'Online now' }) : null),
      h('span', { class: 'who' },
        h('button', { type: 'button', id: `open-${user._id}`, class: 'name link', onclick: () => ctx.openUser(user._id) }, name),
        h('span', { class: 'badges' },
          user.isLiveChatActive ? h('span', { class: 'badge live' }, 'Live chat') : null,
          user.unreadMessages ? h('span', { class: 'badge unread', title: 'Unread messages' }, `${user.unreadMessages} unread`) : null,
          user.isContact ? null : h('span', { class: 'badge muted' }, 'Chat only')))),
    h('td', { class: 'reach', 'data-label': 'Phone and email' },
      phoneText(user) ? h('span', { class: 'phone' }, phoneText(user)) : null,
      details.contact?.email ? h('span', { class: 'email' }, details.contact.email) : null,
      !phoneText(user) && !details.contact?.email ? h('span', { class: 'muted' }, '—') : null),
    h('td', { class: 'channels', 'data-label': 'Channels' }, (user.platform ?? []).map(channelIcon)),
    h('td', { class: 'tags', 'data-label': 'Tags' },
      tags.slice(0, 3).map((tag) => h('span', { class: 'tag' }, tag)),
      tags.length > 3 ? h('span', { class: 'tag more', title: tags.slice(3).join(', ') }, `+${tags.length - 3}`) : null),
    h('td', { 'data-label': 'Status' }, h('span', { class: `status ${user.status.toLowerCase()}` }, user.status)),
    h('td', { class: 'agent', 'data-label': 'Agent' }, agent ?? h('span', { class: 'muted' }, 'Unassigned')),
    h('td', { class: 'last-message', 'data-label': 'Last message' }, user.lastMessage
      ? [h('span', { class: 'message-text', title: user.lastMessage.text }, user.lastMessage.text),
        h('span', { class: 'message-meta' }, h('span', { class: `by ${user.lastMessage.by}` }, user.lastMessage.by), ' · ', when(user.lastMessage.at))]
      : h('span', { class: 'muted' }, 'No messages')),
    h('td', { 'data-label': 'Last seen' }, when(user.lastSeenAt)),
    h('td', { 'data-label': 'Created' }, when(user.createdAt)));
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
