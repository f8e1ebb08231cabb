// The filter panel (one control per field of the query body) and the chips of the filters in use.

import { $, h, clear, channelIcon, channelLabel } from './dom.js';
import { TOGGLES, activeFilterCount, withoutFilters } from './state.js';

const DEFAULT_STATUSES = ['OPEN', 'PENDING', 'CLOSED', 'DELETED'];
const SENDERS = [['user', 'Contact'], ['bot', 'Bot'], ['agent', 'Agent']];

let renderedStatuses = '';

/** Builds the panel for the bots and agents of the workspace; call again when they change. */
export function buildFilters(ctx) {
  const { bots, agents } = ctx.catalog;
  const form = clear($('#filter-form'),
    group('Status', h('div', { id: 'status-options', class: 'options' })),
    group('Tags',
      h('div', { class: 'inline-add' },
        h('label', { for: 'tag-input', class: 'visually-hidden' }, 'Tag to filter by'),
        h('input', { id: 'tag-input', list: 'tag-suggestions', placeholder: 'Type a tag, press Enter', autocomplete: 'off' }),
        h('button', { type: 'button', id: 'tag-add' }, 'Add')),
      h('datalist', { id: 'tag-suggestions' }),
      h('p', { class: 'hint' }, 'Contacts with any of these tags.'),
      h('ul', { id: 'tag-selected', class: 'picked' })),
    group('Channels and bots', bots.length
      ? h('div', { class: 'options' }, bots.map((bot) => checkbox('bots', bot._id,
        [channelIcon(bot.platform), ` ${bot.name}`], `${channelLabel(bot.platform)} bot`)))
      : h('p', { class: 'hint' }, 'No bots yet.')),
    group('Assigned agent', h('div', { class: 'options scroll' },
      checkbox('agents', 'UNASSIGNED', 'Unassigned'),
      agents.map((agent) => checkbox('agents', agent._id, agent.name)))),
    group('Last message by', h('div', { class: 'options row' },
      SENDERS.map(([value, label]) => checkbox('lastMessageBy', value, label)))),
    group('Last seen', dateRange('seenFrom', 'seenTo')),
    group('Created', dateRange('createdFrom', 'createdTo')),
    group('Yes or no', h('div', { class: 'toggles' }, TOGGLES.map(({ key, label }) => h('label', { class: 'toggle' },
      h('span', {}, label),
      h('select', { dataset: { toggle: key } },
        h('option', { value: '' }, 'Any'), h('option', { value: 'yes' }, 'Yes'), h('option', { value: 'no' }, 'No'))))),
    h('label', { class: 'toggle', id: 'ordered-since-row' },
      h('span', {}, 'with an order since'),
      h('input', { type: 'date', dataset: { text: 'orderedSince' } }))),
    group('Contacts', h('label', { class: 'check' },
      h('input', { type: 'checkbox', dataset: { flag: 'contactsOnly' } }), ' Contacts only (hide chats that never became contacts)')),
  );
  renderedStatuses = '';

  form.addEventListener('change', (event) => onChange(ctx, event.target));
  form.addEventListener('submit', (event) => event.preventDefault());
  const addTag = () => {
    const input = $('#tag-input');
    const tag = input.value.trim();
    input.value = '';
    if (tag && !ctx.state.tags.some((t) => t.toLowerCase() === tag.toLowerCase())) {
      ctx.setState({ tags: [...ctx.state.tags, tag] });
    }
  };
  $('#tag-add').addEventListener('click', addTag);
  $('#tag-input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      addTag();
    }
  });
}

function group(title, ...content) {
  return h('fieldset', { class: 'group' }, h('legend', {}, title), content);
}

function checkbox(list, value, label, title) {
  return h('label', { class: 'check', title },
    h('input', { type: 'checkbox', value, dataset: { list } }), ' ', label);
}

function dateRange(from, to) {
  return h('div', { class: 'range' },
    h('label', {}, h('span', {}, 'From'), h('input', { type: 'date', dataset: { text: from } })),
    h('label', {}, h('span', {}, 'To'), h('input', { type: 'date', dataset: { text: to } })));
}

function onChange(ctx, control) {
  const { list, text, toggle, flag } = control.dataset;
  if (list) {
    const values = ctx.state[list].filter((v) => v !== control.value);
    ctx.setState({ [list]: control.checked ? [...values, control.value] : values });
  } else if (text) {
    ctx.setState({ [text]: control.value });
  } else if (toggle) {
    ctx.setState({ [toggle]: control.value === 'yes' ? true : control.value === 'no' ? false : null });
  } else if (flag) {
    ctx.setState({ [flag]: control.checked });
  }
}

/** Makes every control show the current state. */
export function syncFilters(ctx) {
  const { state } = ctx;
  const statuses = [...new Set([...DEFAULT_STATUSES, ...ctx.knownStatuses, ...state.status])];
  if (statuses.join() !== renderedStatuses) {
    renderedStatuses = statuses.join();
    clear($('#status-options'), statuses.map((s) => checkbox('status', s, s.charAt(0) + s.slice(1).toLowerCase())));
  }
  for (const input of document.querySelectorAll('#filter-form [data-list]')) {
    input.checked = state[input.dataset.list].includes(input.value);
  }
  for (const input of document.querySelectorAll('#filter-form [data-text]')) input.value = state[input.dataset.text];
  for (const select of document.querySelectorAll('#filter-form [data-toggle]')) {
    const value = state[select.dataset.toggle];
    select.value = value === true ? 'yes' : value === false ? 'no' : '';
  }
  $('#filter-form [data-flag="contactsOnly"]').checked = state.contactsOnly;
  $('#ordered-since-row').hidden = state.hasOrdered === null;
  clear($('#tag-selected'), state.tags.map((tag) => h('li', {},
    h('span', {}, tag),
    h('button', { type: 'button', class: 'remove', 'aria-label': `Remove tag ${tag}`,
      onclick: () => ctx.setState({ tags: state.tags.filter((t) => t !== tag) }) }, '✕'))));
  clear($('#tag-suggestions'), [...ctx.knownTags].sort().map((tag) => h('option', { value: tag })));
  const count = activeFilterCount(state);
  $('#filter-count').textContent = count ? String(count) : '';
  if (document.activeElement !== $('#search')) $('#search').value = state.searchText;
}

/** One removable chip per filter value in use, and a "Clear all". */
export function renderChips(ctx) {
  const { state, catalog } = ctx;
  const chips = [];
  const chip = (label, change) => chips.push(h('span', { class: 'chip' },
    h('span', {}, label),
    h('button', { type: 'button', 'aria-label': `Remove filter ${label}`, onclick: () => ctx.setState(change) }, '✕')));
  const without = (key, value) => ({ [key]: state[key].filter((v) => v !== value) });

  if (state.searchText.trim()) chip(`Search: “${state.searchText.trim()}”`, { searchText: '' });
  for (const tag of state.tags) chip(`Tag: ${tag}`, without('tags', tag));
  for (const status of state.status) chip(`Status: ${status}`, without('status', status));
  for (const id of state.bots) {
    const bot = catalog.botsById.get(id);
    chip(bot ? `${channelLabel(bot.platform)}: ${bot.name}` : `Bot: ${id}`, without('bots', id));
  }
  for (const id of state.agents) {
    chip(id === 'UNASSIGNED' ? 'Unassigned' : `Agent: ${catalog.agentsById.get(id)?.name ?? id}`, without('agents', id));
  }
  for (const id of state.segments) {
    chip(`Segment: ${catalog.segmentsById.get(id)?.segmentName ?? id}`, without('segments', id));
  }
  for (const by of state.lastMessageBy) chip(`Last message by ${by}`, without('lastMessageBy', by));
  if (state.seenFrom || state.seenTo) chip(`Last seen ${range(state.seenFrom, state.seenTo)}`, { seenFrom: '', seenTo: '' });
  if (state.createdFrom || state.createdTo) {
    chip(`Created ${range(state.createdFrom, state.createdTo)}`, { createdFrom: '', createdTo: '' });
  }
  for (const { key, label } of TOGGLES) {
    if (state[key] === null) continue;
    let text = `${label}: ${state[key] ? 'yes' : 'no'}`;
    if (key === 'hasOrdered' && state.orderedSince) text += ` (since ${state.orderedSince})`;
    chip(text, key === 'hasOrdered' ? { hasOrdered: null, orderedSince: '' } : { [key]: null });
  }
  if (state.contactsOnly) chip('Contacts only', { contactsOnly: false });
  if (chips.length > 1) {
    chips.push(h('button', { type: 'button', class: 'link', onclick: () => ctx.replaceState(withoutFilters(state)) }, 'Clear all'));
  }
  clear($('#chips'), chips);
}

function range(from, to) {
  if (from && to) return `${from} – ${to}`;
  return from ? `from ${from}` : `until ${to}`;
}
