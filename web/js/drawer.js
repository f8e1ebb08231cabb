// The user drawer: the whole profile, and edits to tags, status, agent, attributes and notes.

import { api } from './api.js';
import { $, h, clear, avatar, displayName, phoneText, channelIcon, fullDate, errorContent, CHANNELS } from './dom.js';

const drawer = () => $('#drawer');

export async function openUser(ctx, id) {
  const dialog = drawer();
  clear(dialog, h('div', { class: 'drawer-body' }, h('p', { class: 'loading' }, 'Loading…')));
  if (!dialog.open) {
    dialog.showModal();
    // The table may have been drawn anew meanwhile: give the keyboard back to this contact's row.
    dialog.addEventListener('close', () => {
      if (document.activeElement === document.body) document.getElementById(`open-${id}`)?.focus();
    }, { once: true });
  }
  try {
    const { data } = await api.user(id);
    render(ctx, data);
  } catch (e) {
    clear(dialog, header(ctx, null), h('div', { class: 'drawer-body' }, h('div', { class: 'error', role: 'alert' }, errorContent(e))));
  }
}

function header(ctx, user) {
  return h('header', { class: 'drawer-head' },
    user ? avatar(user, 'large') : null,
    h('div', { class: 'drawer-title' },
      h('h2', { id: 'drawer-title' }, user ? displayName(user) : 'Contact'),
      user ? h('p', { class: 'sub' },
        h('span', { class: `status ${user.status.toLowerCase()}` }, user.status), ' ',
        user.isOnline ? h('span', { class: 'badge online' }, 'Online') : null, ' ',
        user.isLiveChatActive ? h('span', { class: 'badge live' }, 'Live chat') : null, ' ',
        (user.platform ?? []).map(channelIcon)) : null),
    h('button', { type: 'button', class: 'ghost close', 'aria-label': 'Close', onclick: () => drawer().close() }, '✕'));
}

function render(ctx, user) {
  const details = user.profile.userDetails;
  const body = h('div', { class: 'drawer-body' },
    h('div', { id: 'drawer-error', class: 'error', role: 'alert', hidden: true }),
    editForm(ctx, user),
    section('Contact', facts([
      ['Name', details.name], ['Name they gave', details.userProvidedName],
      ['Email', details.contact?.email], ['Phone', phoneText(user)],
      ['WhatsApp', details.whatsAppNumber], ['Telegram', details.telegramUserName],
      ['Facebook', details.facebookProfileId], ['Instagram', details.instagramProfileId],
      ['City', details.city], ['Country', details.country], ['uuid', user.uuid], ['id', user._id],
    ])),
    section('Conversation', facts([
      ['Last message', user.lastMessage ? `${user.lastMessage.by}: “${user.lastMessage.text}”` : 'none'],
      ['Sent', user.lastMessage ? fullDate(user.lastMessage.at) : null],
      ['Unread', String(user.unreadMessages)],
      ['Has written to us', user.userInteracted ? 'yes' : 'no'],
      ['Subscriber', user.isSubscriber ? 'yes' : 'no'],
      ['Blocked', user.isUserBlocked ? 'yes' : 'no'],
      ['Contact', user.isContact ? 'yes' : 'no (chat only)'],
      ['Last seen', user.lastSeenAt ? fullDate(user.lastSeenAt) : 'never'],
      ['Created', fullDate(user.createdAt)], ['Updated', fullDate(user.updatedAt)],
      ...CHANNELS.filter((c) => user[c.field]).map((c) => [`${c.label} bot`, ctx.catalog.botsById.get(user[c.field])?.name ?? user[c.field]]),
    ])),
    section('Orders', facts([
      ['Ordered', user.hasOrdered.status ? 'yes' : 'no'],
      ['Orders', String(user.hasOrdered.count ?? 0)],
      ['Last order', user.hasOrdered.lastAt ? fullDate(user.hasOrdered.lastAt) : null],
    ])),
    section('Segments', user.segments.length
      ? h('ul', { class: 'plain' }, user.segments.map((id) => h('li', {}, ctx.catalog.segmentsById.get(id)?.segmentName ?? id)))
      : h('p', { class: 'muted' }, 'In no segment.')),
    notes(ctx, user));
  clear(drawer(), header(ctx, user), body);
}

function section(title, ...content) {
  return h('section', { class: 'drawer-section' }, h('h3', {}, title), content);
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

/** Status, agent, tags and attributes, saved together with one PUT of what changed. */
function editForm(ctx, user) {
  const details = user.profile.userDetails;
  let tags = [...details.tags];
  const original = new Map(details.attributes.map((a) => [a.key, a.value]));
  const tagList = h('ul', { class: 'picked' });
  const drawTags = () => clear(tagList, tags.map((tag) => h('li', {}, h('span', {}, tag),
    h('button', { type: 'button', class: 'remove', 'aria-label': `Remove tag ${tag}`, onclick: () => { tags = tags.filter((t) => t !== tag); drawTags(); } }, '✕'))));
  drawTags();
  const tagInput = h('input', { id: 'edit-tag', list: 'tag-suggestions', placeholder: 'New tag', autocomplete: 'off' });
  const addTag = () => {
    const tag = tagInput.value.trim();
    tagInput.value = '';
    if (tag && !tags.some((t) => t.toLowerCase() === tag.toLowerCase())) tags.push(tag);
    drawTags();
  };
  tagInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addTag(); } });

  const attributeRows = h('tbody', {});
  const attributeRow = (key, value, isNew) => {
    const tr = h('tr', { dataset: { key: isNew ? '' : key } },
      h('td', {}, isNew
        ? h('input', { class: 'attr-key', value: key, placeholder: 'key', 'aria-label': 'Attribute key' })
        : h('span', { class: 'attr-key-text' }, key)),
      h('td', {}, h('input', { class: 'attr-value', value: textOf(value), 'aria-label': `Value of ${key || 'the new attribute'}` })),
      h('td', {}, h('button', { type: 'button', class: 'remove', 'aria-label': `Remove attribute ${key}`, onclick: () => tr.remove() }, '✕')));
    return tr;
  };
  for (const [key, value] of original) attributeRows.append(attributeRow(key, value, false));

  const status = h('input', { id: 'edit-status', value: user.status, list: 'status-suggestions', autocomplete: 'off', required: true });
  const agent = h('select', { id: 'edit-agent' },
    h('option', { value: '' }, 'Unassigned'),
    ctx.catalog.agents.map((a) => h('option', { value: a._id, selected: a._id === user._agentAssigned }, a.name)));

  const save = async (event) => {
    event.preventDefault();
    const change = {};
    const newStatus = status.value.trim().toUpperCase();
    if (newStatus !== user.status) change.status = newStatus;
    const newAgent = agent.value || null;
    if (newAgent !== user._agentAssigned) change._agentAssigned = newAgent;
    const userDetails = {};
    if (tags.join('\n') !== details.tags.join('\n')) userDetails.tags = tags;
    const attributes = [];
    const kept = new Set();
    for (const tr of attributeRows.querySelectorAll('tr')) {
      const key = tr.dataset.key || tr.querySelector('.attr-key').value.trim();
      const text = tr.querySelector('.attr-value').value;
      if (!key) continue;
      kept.add(key);
      if (!original.has(key) || textOf(original.get(key)) !== text) attributes.push({ key, value: typedLike(original.get(key), text) });
    }
    for (const key of original.keys()) if (!kept.has(key)) attributes.push({ key, value: null });
    if (attributes.length) userDetails.attributes = attributes;
    if (Object.keys(userDetails).length) change.profile = { userDetails };
    if (Object.keys(change).length === 0) return showMessage('Nothing changed.');
    await write(ctx, user._id, change, 'Saved.');
  };

  return h('form', { class: 'drawer-section edit', onsubmit: save, 'aria-label': 'Edit contact' },
    h('h3', {}, 'Edit'),
    h('div', { class: 'edit-grid' },
      h('label', { for: 'edit-status' }, 'Status'), status,
      h('datalist', { id: 'status-suggestions' }, ['OPEN', 'PENDING', 'CLOSED', 'DELETED', ...ctx.knownStatuses].filter(unique).map((s) => h('option', { value: s }))),
      h('label', { for: 'edit-agent' }, 'Agent'), agent,
      h('label', { for: 'edit-tag' }, 'Tags'),
      h('div', {}, tagList, h('div', { class: 'inline-add' }, tagInput, h('button', { type: 'button', onclick: addTag }, 'Add')))),
    h('h4', {}, 'Attributes'),
    h('table', { class: 'attributes' }, attributeRows),
    h('button', { type: 'button', class: 'link', onclick: () => attributeRows.append(attributeRow('', '', true)) }, '+ Add attribute'),
    h('p', { id: 'drawer-message', class: 'ok', role: 'status' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'edit-save' }, 'Save changes')));
}

function notes(ctx, user) {
  const title = h('input', { id: 'note-title', required: true, maxlength: '512', autocomplete: 'off' });
  const description = h('textarea', { id: 'note-description', rows: '3', maxlength: '8192' });
  const add = async (event) => {
    event.preventDefault();
    await write(ctx, user._id, { profile: { notes: [{ title: title.value.trim(), description: description.value }] } }, 'Note added.');
  };
  return section('Notes',
    user.profile.notes.length
      ? h('ul', { class: 'notes' }, user.profile.notes.map((n) => h('li', {}, h('strong', {}, n.title), n.description ? h('p', {}, n.description) : null)))
      : h('p', { class: 'muted' }, 'No notes yet.'),
    h('form', { class: 'note-form', onsubmit: add, 'aria-label': 'Add a note' },
      h('label', { for: 'note-title' }, 'Title'), title,
      h('label', { for: 'note-description' }, 'Note'), description,
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'note-add' }, 'Add note'))));
}

async function write(ctx, id, change, done) {
  try {
    const { data } = await api.updateUser(id, change);
    render(ctx, data);
    showMessage(done);
    ctx.reload();
  } catch (e) {
    const box = $('#drawer-error');
    clear(box, errorContent(e));
    box.hidden = false;
    box.scrollIntoView({ block: 'nearest' });
  }
}

function showMessage(text) {
  const message = $('#drawer-message');
  if (message) message.textContent = text;
}

/** Keeps a number a number and a yes/no a yes/no when the new text still reads as one. */
function typedLike(old, text) {
  if (typeof old === 'number' && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (typeof old === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function textOf(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function unique(value, index, all) {
  return all.indexOf(value) === index;
}

