// The web inbox: signs in, loads the workspace's bots, agents and segments, and keeps the view in step
// with the URL. Each part of the page lives in its own module; this one wires them together.

import { api, token, whenUnauthorized } from './api.js';
import { $, h, clear, debounce, errorContent, CHANNELS } from './dom.js';
import { fromUrl, toUrl, toQuery, activeFilterCount, withoutFilters, SORTS } from './state.js';
import { renderTable, renderTotal, renderPager, effectiveSort } from './table.js';
import { buildFilters, syncFilters, renderChips } from './filters.js';
import { openUser } from './drawer.js';
import { renderSelection, exportCsv } from './bulk.js';
import { renderSegments, openSegmentDialog } from './segments.js';

const VIEW_KEYS = new Set(['page', 'limit', 'sortBy', 'order']);

const ctx = {
  state: fromUrl(),
  catalog: { bots: [], agents: [], segments: [], botsById: new Map(), agentsById: new Map(), segmentsById: new Map() },
  role: null,
  result: null,
  selection: new Map(),
  allMatching: false,
  bulkMessage: null,
  knownTags: new Set(),
  knownStatuses: new Set(),

  /** Changes part of the state, writes it to the URL and queries again. Filters going back to page 1. */
  setState(change, { keepPage = false, replace = false } = {}) {
    const next = { ...ctx.state, ...change };
    if (!keepPage) next.page = 1;
    if (JSON.stringify(next) === JSON.stringify(ctx.state)) return;
    show(next, replace);
  },
  replaceState(state) {
    show(state, false);
  },
  clearFilters: () => ctx.replaceState(withoutFilters(ctx.state)),
  filterCount: () => activeFilterCount(ctx.state),
  reload: () => load({ segments: true }),
  refreshSegments,
  notify,
  openUser: (id) => openUser(ctx, id),
  renderSelection: () => renderSelection(ctx),
};

function show(next, replace) {
  const filtersChanged = Object.keys(next).some((key) => !VIEW_KEYS.has(key) && JSON.stringify(next[key]) !== JSON.stringify(ctx.state[key]));
  if (filtersChanged) {
    ctx.selection.clear();
    ctx.allMatching = false;
  }
  ctx.bulkMessage = null;
  ctx.state = next;
  const url = toUrl(next);
  if (url !== (location.search || location.pathname)) {
    history[replace ? 'replaceState' : 'pushState'](null, '', url);
  }
  renderControls();
  load();
}

function renderControls() {
  syncFilters(ctx);
  renderChips(ctx);
  renderSegments(ctx);
  $('#sort-by').value = ctx.state.sortBy;
  const order = ctx.state.order;
  $('#sort-order').textContent = order === 'asc' ? '↑ asc' : '↓ desc';
  $('#sort-order').setAttribute('aria-label', `Sort order: ${order === 'asc' ? 'ascending' : 'descending'}; press to reverse`);
  $('#sort-by').title = ctx.state.sortBy ? '' : `Default: ${effectiveSort(ctx.state)}`;
}

let latest = 0;

/** Queries the page the state describes; an answer that a newer query overtook is dropped. */
async function load({ segments = false } = {}) {
  const mine = ++latest;
  $('#loading').hidden = false;
  $('#contacts').setAttribute('aria-busy', 'true');
  if (segments) refreshSegments();
  try {
    const { data, meta } = await api.query(toQuery(ctx.state, ctx.catalog.botsById));
    if (mine !== latest) return;
    ctx.result = { users: data, meta };
    for (const user of data) {
      for (const tag of user.profile.userDetails.tags) ctx.knownTags.add(tag);
      ctx.knownStatuses.add(user.status);
    }
    hideNotice();
  } catch (e) {
    if (mine !== latest) return;
    ctx.result = { users: [], meta: { page: ctx.state.page, limit: ctx.state.limit, total: 0, totalPages: 0 } };
    notify(e);
  } finally {
    if (mine === latest) {
      $('#loading').hidden = true;
      $('#contacts').removeAttribute('aria-busy');
    }
  }
  const focused = document.activeElement?.id;
  renderTable(ctx);
  renderTotal(ctx);
  renderPager(ctx);
  renderSelection(ctx);
  syncFilters(ctx);
  // The table and pager are drawn anew; keep the keyboard where it was (a sort header, "Next", ...).
  if (focused && !document.activeElement?.id && !document.querySelector('dialog[open]')) document.getElementById(focused)?.focus();
}

async function refreshSegments() {
  try {
    const { data } = await api.segments();
    setSegments(data);
    renderSegments(ctx);
    renderChips(ctx);
  } catch (e) {
    notify(e);
  }
}

function setSegments(segments) {
  ctx.catalog.segments = segments;
  ctx.catalog.segmentsById = new Map(segments.map((s) => [s._id, s]));
  for (const segment of segments) {
    for (const c of segment.conditions) if (c.field === 'tag' && c.value) ctx.knownTags.add(c.value);
  }
}

function notify(error) {
  const box = $('#notice');
  clear(box, h('div', {}, errorContent(error)),
    h('button', { type: 'button', class: 'ghost', 'aria-label': 'Dismiss', onclick: hideNotice }, '✕'));
  box.hidden = false;
}

function hideNotice() {
  $('#notice').hidden = true;
}

// Signing in and out.

function showSignIn(message) {
  $('#inbox').hidden = true;
  $('#sign-out').hidden = true;
  $('#workspace-role').hidden = true;
  $('#sign-in').hidden = false;
  const error = $('#sign-in-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  $('#token').focus();
}

async function start() {
  $('#sign-in').hidden = true;
  $('#inbox').hidden = false;
  $('#sign-out').hidden = false;
  const [role, bots, agents, segments] = await Promise.all([api.role(), api.bots(), api.agents(), api.segments()]);
  ctx.role = role;
  document.body.classList.toggle('is-agent', role === 'agent');
  const badge = $('#workspace-role');
  badge.textContent = role === 'admin' ? 'Admin' : 'Agent';
  badge.title = role === 'admin' ? 'Your token is an admin’s: every action is open to you.' : 'Your token is an agent’s: export, bulk status changes and segment changes need an admin.';
  badge.hidden = false;
  ctx.catalog.bots = [...bots.data].sort((a, b) => channelOrder(a) - channelOrder(b) || a.name.localeCompare(b.name));
  ctx.catalog.botsById = new Map(bots.data.map((bot) => [bot._id, { ...bot, field: CHANNELS.find((c) => c.platform === bot.platform)?.field }]));
  ctx.catalog.agents = [...agents.data].sort((a, b) => a.name.localeCompare(b.name));
  ctx.catalog.agentsById = new Map(agents.data.map((agent) => [agent._id, agent]));
  setSegments(segments.data);
  buildFilters(ctx);
  renderControls();
  await load();
}

function channelOrder(bot) {
  return CHANNELS.findIndex((c) => c.platform === bot.platform);
}

async function signIn(event) {
  event.preventDefault();
  const value = $('#token').value.trim();
  if (!value) return;
  token.set(value);
  try {
    await api.bots();
  } catch (e) {
    token.clear();
    showSignIn(e.status === 401 ? 'That token was not accepted: check that you pasted all of it, and that it has not been revoked.' : e.explanation);
    return;
  }
  $('#token').value = '';
  begin();
}

async function begin() {
  try {
    await start();
  } catch (e) {
    if (e.status !== 401) notify(e);
  }
}

whenUnauthorized(() => {
  token.clear();
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  showSignIn('Your token is no longer accepted (revoked or unknown). Paste a token to go on.');
});

// The controls outside the filter panel.

$('#sign-in-form').addEventListener('submit', signIn);
$('#sign-out').addEventListener('click', () => {
  token.clear();
  ctx.result = null;
  showSignIn();
});
$('#search').addEventListener('input', debounce((e) => ctx.setState({ searchText: e.target.value }, { replace: true }), 300));
$('#search').addEventListener('keydown', (e) => {
  if (e.key === 'Enter') ctx.setState({ searchText: e.target.value }, { replace: true });
});
$('#sort-by').addEventListener('change', (e) => {
  const sortBy = SORTS.includes(e.target.value) ? e.target.value : '';
  ctx.setState({ sortBy, order: sortBy === 'name' ? 'asc' : 'desc' });
});
$('#sort-order').addEventListener('click', () => ctx.setState({ order: ctx.state.order === 'asc' ? 'desc' : 'asc', sortBy: ctx.state.sortBy }));
$('#export').addEventListener('click', () => exportCsv(ctx));
$('#segment-new').addEventListener('click', () => openSegmentDialog(ctx));
$('#filters-reset').addEventListener('click', () => ctx.clearFilters());
$('#filters-open').addEventListener('click', () => {
  $('#filters').classList.add('open');
  $('#filters-close').focus();
});
const closeFilters = () => {
  $('#filters').classList.remove('open');
  $('#filters-open').focus();
};
$('#filters-close').addEventListener('click', closeFilters);
$('#filters-done').addEventListener('click', closeFilters);
$('#filters').addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && $('#filters').classList.contains('open')) closeFilters();
});
window.addEventListener('popstate', () => {
  ctx.state = fromUrl();
  ctx.selection.clear();
  ctx.allMatching = false;
  renderControls();
  load();
});

if (token.get()) begin();
else showSignIn();
