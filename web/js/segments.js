// Saved segments: listed with their live counts, used as filters, created from the current tags, deleted.

import { api } from './api.js';
import { $, h, clear, formatNumber, confirmAction, errorContent, CHANNELS, channelLabel } from './dom.js';

export function renderSegments(ctx) {
  const { segments } = ctx.catalog;
  const list = $('#segment-list');
  if (segments.length === 0) {
    list.dataset.drawn = '';
    clear(list, h('li', { class: 'muted empty-segments' }, ctx.role === 'admin'
      ? 'No segments yet. Filter by tags, then “Save as segment”.'
      : 'No segments yet. An admin can save some.'));
    return;
  }
  // Redraw only when the list or a count changed, so the keyboard stays on the box just ticked.
  const drawn = JSON.stringify([ctx.role, segments.map((s) => [s._id, s.segmentName, s.count])]);
  if (list.dataset.drawn === drawn) {
    for (const box of list.querySelectorAll('input[data-segment]')) box.checked = ctx.state.segments.includes(box.dataset.segment);
    return;
  }
  list.dataset.drawn = drawn;
  clear(list, segments.map((segment) => {
    const checked = ctx.state.segments.includes(segment._id);
    const scope = [segment.platform ? channelLabel(segment.platform) : null,
      segment.botId ? ctx.catalog.botsById.get(segment.botId)?.name ?? 'a bot' : null,
      `${segment.conditions.length} ${segment.conditions.length === 1 ? 'condition' : 'conditions'}, ${segment.match}`].filter(Boolean).join(' · ');
    return h('li', { class: 'segment' },
      h('label', { class: 'check', title: describe(segment) },
        h('input', {
          type: 'checkbox', checked, dataset: { segment: segment._id },
          onchange: (e) => ctx.setState({
            segments: e.target.checked ? [...ctx.state.segments, segment._id] : ctx.state.segments.filter((id) => id !== segment._id),
          }),
        }),
        h('span', { class: 'segment-name' }, segment.segmentName, h('small', {}, scope))),
      h('span', { class: 'count', title: 'Contacts in it now' }, formatNumber(segment.count)),
      ctx.role === 'admin' ? h('button', {
        type: 'button', class: 'remove', 'aria-label': `Delete segment ${segment.segmentName}`,
        onclick: () => remove(ctx, segment),
      }, '✕') : null);
  }));
}

function describe(segment) {
  return segment.conditions.map((c) => [c.field, c.key, c.operator, c.value].filter(Boolean).join(' ')).join(segment.match === 'any' ? ' OR ' : ' AND ');
}

async function remove(ctx, segment) {
  if (!(await confirmAction(`Delete the segment “${segment.segmentName}”? Contacts are not changed.`, 'Delete'))) return;
  try {
    await api.deleteSegment(segment._id);
    if (ctx.state.segments.includes(segment._id)) ctx.setState({ segments: ctx.state.segments.filter((id) => id !== segment._id) });
    await ctx.refreshSegments();
  } catch (e) {
    ctx.notify(e);
  }
}

const OPERATORS = [['is', 'is'], ['isNot', 'is not'], ['contains', 'contains'], ['exists', 'exists'], ['notExists', 'does not exist']];

/** The "Save as segment" dialog, filled with one "tag is …" condition per tag of the current filter. */
export function openSegmentDialog(ctx) {
  const dialog = $('#segment-dialog');
  const rows = h('div', { class: 'conditions' });
  const addRow = (field = 'tag', key = '', operator = 'is', value = '') => {
    const keyInput = h('input', { class: 'cond-key', value: key, placeholder: 'attribute key', 'aria-label': 'Attribute key' });
    const fieldSelect = h('select', { class: 'cond-field', 'aria-label': 'Condition on' },
      h('option', { value: 'tag', selected: field === 'tag' }, 'Tag'),
      h('option', { value: 'attribute', selected: field === 'attribute' }, 'Attribute'));
    const operatorSelect = h('select', { class: 'cond-operator', 'aria-label': 'Operator' },
      OPERATORS.map(([v, label]) => h('option', { value: v, selected: v === operator }, label)));
    const valueInput = h('input', { class: 'cond-value', value, placeholder: 'value', 'aria-label': 'Value' });
    const sync = () => {
      keyInput.hidden = fieldSelect.value !== 'attribute';
      valueInput.hidden = ['exists', 'notExists'].includes(operatorSelect.value);
    };
    fieldSelect.addEventListener('change', sync);
    operatorSelect.addEventListener('change', sync);
    const row = h('div', { class: 'condition' }, fieldSelect, keyInput, operatorSelect, valueInput,
      h('button', { type: 'button', class: 'remove', 'aria-label': 'Remove condition', onclick: () => row.remove() }, '✕'));
    sync();
    rows.append(row);
  };
  for (const tag of ctx.state.tags) addRow('tag', '', 'is', tag);

  const name = h('input', { id: 'segment-name', required: true, maxlength: '512', autocomplete: 'off' });
  const match = h('select', { id: 'segment-match' },
    h('option', { value: 'any', selected: ctx.state.tags.length > 1 }, 'any condition holds'),
    h('option', { value: 'all', selected: ctx.state.tags.length <= 1 }, 'all conditions hold'));
  const platform = h('select', { id: 'segment-platform' }, h('option', { value: '' }, 'any channel'),
    CHANNELS.map((c) => h('option', { value: c.platform }, c.label)));
  const errorBox = h('div', { class: 'error', role: 'alert', hidden: true });

  const save = async (event) => {
    event.preventDefault();
    const conditions = [...rows.querySelectorAll('.condition')].map((row) => {
      const condition = { field: row.querySelector('.cond-field').value, operator: row.querySelector('.cond-operator').value };
      if (condition.field === 'attribute') condition.key = row.querySelector('.cond-key').value.trim();
      if (!['exists', 'notExists'].includes(condition.operator)) condition.value = row.querySelector('.cond-value').value.trim();
      return condition;
    });
    const definition = { segmentName: name.value.trim(), match: match.value, conditions };
    if (platform.value) definition.platform = platform.value;
    try {
      await api.createSegment(definition);
      dialog.close();
      await ctx.refreshSegments();
    } catch (e) {
      clear(errorBox, errorContent(e));
      errorBox.hidden = false;
    }
  };

  clear(dialog, h('form', { class: 'segment-form', onsubmit: save },
    h('h2', { id: 'segment-dialog-title' }, 'Save as segment'),
    h('p', { class: 'hint' }, 'A segment is a live definition: its contacts change as they change. It starts from the tags of the current filter; add attribute conditions as you need.'),
    h('label', { for: 'segment-name' }, 'Name'), name,
    h('div', { class: 'row' },
      h('label', {}, 'Match ', match),
      h('label', {}, 'on ', platform)),
    h('h3', {}, 'Conditions'),
    rows,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'link', onclick: () => addRow('tag') }, '+ Tag condition'),
      h('button', { type: 'button', class: 'link', id: 'add-attribute-condition', onclick: () => addRow('attribute', '', 'is') }, '+ Attribute condition')),
    h('p', { class: 'hint' }, rows.children.length ? '' : 'No conditions: every contact (on the channel, if chosen) matches.'),
    errorBox,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'segment-save' }, 'Save segment'))));
  dialog.showModal();
  name.focus();
}

