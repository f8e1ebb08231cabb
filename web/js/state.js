// The view's state (filters, sort, page) kept in the URL, and turned into a POST /inbox/users body.

/** The yes/no filters that apply only when named in applicableFilters. */
export const TOGGLES = [
  { key: 'isOnline', param: 'online', label: 'Online now' },
  { key: 'userInteracted', param: 'interacted', label: 'Has written to us' },
  { key: 'isLiveChatActive', param: 'liveChat', label: 'Live chat active' },
  { key: 'isSubscriber', param: 'subscriber', label: 'Subscriber' },
  { key: 'hasOrdered', param: 'ordered', label: 'Has ordered' },
];

/** The list filters: state key, URL parameter (repeated once per value). */
const LISTS = [
  ['tags', 'tag'], ['status', 'status'], ['bots', 'bot'], ['agents', 'agent'],
  ['segments', 'segment'], ['lastMessageBy', 'by'],
];

/** The text filters: state key, URL parameter. */
const TEXTS = [
  ['searchText', 'q'], ['seenFrom', 'seenFrom'], ['seenTo', 'seenTo'],
  ['createdFrom', 'createdFrom'], ['createdTo', 'createdTo'], ['orderedSince', 'orderedSince'],
];

export const SORTS = ['lastSeenAt', 'createdAt', 'updatedAt', 'lastMessageAt', 'name'];
export const PAGE_SIZES = [10, 20, 50, 100, 200, 500];

export function emptyState() {
  return {
    searchText: '', tags: [], status: [], bots: [], agents: [], segments: [], lastMessageBy: [],
    seenFrom: '', seenTo: '', createdFrom: '', createdTo: '', orderedSince: '',
    isOnline: null, userInteracted: null, isLiveChatActive: null, isSubscriber: null, hasOrdered: null,
    contactsOnly: false, page: 1, limit: 20, sortBy: '', order: 'desc',
  };
}

export function fromUrl(search = location.search) {
  const params = new URLSearchParams(search);
  const state = emptyState();
  for (const [key, param] of LISTS) state[key] = unique(params.getAll(param).filter(Boolean));
  for (const [key, param] of TEXTS) state[key] = params.get(param) ?? '';
  for (const { key, param } of TOGGLES) {
    const value = params.get(param);
    state[key] = value === 'yes' ? true : value === 'no' ? false : null;
  }
  state.contactsOnly = params.get('contacts') === '1';
  const page = Number.parseInt(params.get('page') ?? '', 10);
  state.page = page >= 1 ? page : 1;
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  state.limit = limit >= 1 && limit <= 500 ? limit : 20;
  state.sortBy = SORTS.includes(params.get('sort')) ? params.get('sort') : '';
  state.order = params.get('order') === 'asc' ? 'asc' : 'desc';
  return state;
}

export function toUrl(state) {
  const params = new URLSearchParams();
  for (const [key, param] of TEXTS) if (state[key]) params.set(param, state[key]);
  for (const [key, param] of LISTS) for (const value of state[key]) params.append(param, value);
  for (const { key, param } of TOGGLES) if (state[key] !== null) params.set(param, state[key] ? 'yes' : 'no');
  if (state.contactsOnly) params.set('contacts', '1');
  if (state.sortBy) params.set('sort', state.sortBy);
  if (state.order === 'asc') params.set('order', 'asc');
  if (state.limit !== 20) params.set('limit', String(state.limit));
  if (state.page > 1) params.set('page', String(state.page));
  const text = params.toString();
  return text ? `?${text}` : location.pathname;
}

/**
 * The POST /inbox/users body for this state. Only the filters in use are sent; the yes/no ones are
 * named in applicableFilters (the server ignores them otherwise), and bots are split by channel.
 */
export function toQuery(state, botsById) {
  const body = { page: state.page, limit: state.limit };
  if (state.searchText.trim()) body.searchText = state.searchText.trim();
  for (const key of ['tags', 'status', 'segments', 'lastMessageBy']) if (state[key].length) body[key] = [...state[key]];
  if (state.agents.length) body._agentAssigned = [...state.agents];
  for (const id of state.bots) {
    const field = botsById.get(id)?.field;
    if (field) (body[field] ??= []).push(id);
  }
  if (state.seenFrom || state.seenTo) body.lastSeenAt = { startAt: state.seenFrom, endsAt: state.seenTo };
  if (state.createdFrom || state.createdTo) body.createdAt = { startAt: state.createdFrom, endsAt: state.createdTo };
  const applicable = [];
  for (const { key } of TOGGLES) {
    if (state[key] === null) continue;
    body[key] = key === 'hasOrdered' ? { status: state[key], lastAt: state.orderedSince } : state[key];
    applicable.push(key);
  }
  if (applicable.length) body.applicableFilters = applicable;
  if (state.contactsOnly) body.isContact = true;
  if (state.sortBy) body.sort = { by: state.sortBy, order: state.order };
  else if (state.order === 'asc') body.sort = { order: 'asc' };
  return body;
}

/** How many filters are in use (for the phone's Filters button). */
export function activeFilterCount(state) {
  let count = 0;
  for (const [key] of LISTS) count += state[key].length;
  for (const { key } of TOGGLES) if (state[key] !== null) count += 1;
  if (state.searchText.trim()) count += 1;
  if (state.seenFrom || state.seenTo) count += 1;
  if (state.createdFrom || state.createdTo) count += 1;
  if (state.contactsOnly) count += 1;
  return count;
}

/** The same state with its filters cleared; sort and page size are kept. */
export function withoutFilters(state) {
  return { ...emptyState(), limit: state.limit, sortBy: state.sortBy, order: state.order };
}

function unique(values) {
  return [...new Set(values)];
}
