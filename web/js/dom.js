// Small helpers to build the page: elements, dates, names, channel icons, a confirm dialog.

/** h('button', {class: 'x', onclick: f}, 'text', child) builds an element; null and false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector) => document.querySelector(selector);

const numberFormat = new Intl.NumberFormat();
export const formatNumber = (n) => numberFormat.format(n);

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "5 min ago", "yesterday", "3 mo. ago": how long ago a timestamp was. */
export function ago(iso) {
  if (!iso) return '';
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return '';
}

export const fullDate = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');

/** A <time> that reads "5 min ago" and tells the exact moment on hover. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: fullDate(iso) }, ago(iso));
}

export function displayName(user) {
  const details = user.profile?.userDetails ?? {};
  return details.name || details.userProvidedName || details.contact?.email || details.whatsAppNumber
    || details.telegramUserName || details.facebookProfileId || details.instagramProfileId || user.uuid || 'Unnamed contact';
}

export function initials(name) {
  const words = name.replace(/[^\p{L}\p{N}\s]/gu, ' ').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]][0] ?? '';
  const last = words.length > 1 ? [...words[words.length - 1]][0] : '';
  return (first + last).toUpperCase();
}

/** The contact's picture, or their initials when there is none or it does not load. */
export function avatar(user, size = 'small') {
  const name = displayName(user);
  const letters = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true', dataset: { hue: hue(user._id) } }, initials(name));
  const picture = user.profile?.userDetails?.picture;
  if (!picture) return letters;
  const img = h('img', { class: `avatar ${size}`, src: picture, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' });
  img.addEventListener('error', () => img.replaceWith(letters), { once: true });
  return img;
}

function hue(id = '') {
  let sum = 0;
  for (const c of id) sum = (sum * 31 + c.charCodeAt(0)) % 8;
  return String(sum);
}

export function phoneText(user) {
  const phone = user.profile?.userDetails?.contact?.phone;
  if (phone?.number) return phone.prefix ? `+${phone.prefix} ${phone.number}` : phone.number;
  const wa = user.profile?.userDetails?.whatsAppNumber;
  return wa ? `+${wa.replace(/^\+/, '')}` : '';
}

export const CHANNELS = [
  { platform: 'WEBSITE', field: '_botWebsite', label: 'Website' },
  { platform: 'WHATSAPP', field: '_botWhatsapp', label: 'WhatsApp' },
  { platform: 'TELEGRAM', field: '_botTelegram', label: 'Telegram' },
  { platform: 'FACEBOOK', field: '_botFacebook', label: 'Facebook' },
];

export const channelLabel = (platform) => CHANNELS.find((c) => c.platform === platform)?.label ?? platform;

const ICON_PATHS = {
  WEBSITE: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm6.9 6h-3a15.7 15.7 0 0 0-1.3-4A8 8 0 0 1 18.9 8ZM12 4c.8 1.2 1.5 2.5 1.9 4h-3.8c.4-1.5 1.1-2.8 1.9-4ZM4.3 14a8 8 0 0 1 0-4h3.4a16 16 0 0 0 0 4H4.3Zm.8 2h3a15.7 15.7 0 0 0 1.3 4A8 8 0 0 1 5.1 16Zm3-8h-3a8 8 0 0 1 4.3-4C8.8 5.2 8.4 6.6 8.1 8ZM12 20c-.8-1.2-1.5-2.5-1.9-4h3.8c-.4 1.5-1.1 2.8-1.9 4Zm2.3-6H9.7a14.6 14.6 0 0 1 0-4h4.6a14.6 14.6 0 0 1 0 4Zm.3 6a15.7 15.7 0 0 0 1.3-4h3a8 8 0 0 1-4.3 4Zm1.7-6a16 16 0 0 0 0-4h3.4a8 8 0 0 1 0 4h-3.4Z',
  WHATSAPP: 'M12 2a10 10 0 0 0-8.6 15.1L2 22l5-1.3A10 10 0 1 0 12 2Zm0 18a8 8 0 0 1-4.1-1.1l-.3-.2-3 .8.8-2.9-.2-.3A8 8 0 1 1 12 20Zm4.4-6c-.2-.1-1.4-.7-1.7-.8-.2-.1-.4-.1-.5.1l-.8 1c-.1.2-.3.2-.5.1a6.6 6.6 0 0 1-3.3-2.9c-.2-.4.3-.4.8-1.3.1-.2 0-.3 0-.4l-.8-1.8c-.2-.5-.4-.4-.5-.4h-.5a.9.9 0 0 0-.6.3 2.7 2.7 0 0 0-.9 2c0 1.2.9 2.4 1 2.5.1.2 1.7 2.6 4.2 3.7 1.6.7 2.2.7 3 .6.5-.1 1.4-.6 1.6-1.2.2-.6.2-1.1.1-1.2l-.6-.3Z',
  TELEGRAM: 'M21.9 4.3 18.8 19c-.2 1-.8 1.3-1.7.8l-4.6-3.4-2.2 2.1c-.3.3-.5.5-1 .5l.3-4.7 8.6-7.8c.4-.3-.1-.5-.6-.2L7 13 2.5 11.6c-1-.3-1-1 .2-1.5l17.9-6.9c.8-.3 1.6.2 1.3 1.1Z',
  FACEBOOK: 'M14 8h3V4h-3c-2.8 0-4.5 1.8-4.5 4.6V11H7v4h2.5v7h4v-7h3l.5-4h-3.5V8.9c0-.6.3-.9.5-.9Z',
};

export function channelIcon(platform) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `channel ${platform.toLowerCase()}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', channelLabel(platform));
  const title = document.createElementNS(ns, 'title');
  title.textContent = channelLabel(platform);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICON_PATHS[platform] ?? '');
  svg.append(title, path);
  return svg;
}

/** Asks a yes/no question in the page's own dialog; resolves true when the person confirms. */
export function confirmAction(question, confirmLabel = 'Continue') {
  const dialog = $('#confirm-dialog');
  return new Promise((resolve) => {
    const answer = (yes) => {
      dialog.close();
      resolve(yes);
    };
    clear(dialog, h('form', { method: 'dialog', class: 'confirm' },
      h('p', {}, question),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => answer(false) }, 'Cancel'),
        h('button', { type: 'button', class: 'primary', onclick: () => answer(true) }, confirmLabel))));
    dialog.addEventListener('cancel', () => resolve(false), { once: true });
    dialog.showModal();
  });
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** An API error in words: what went wrong, then each problem the server listed. */
export function errorContent(error) {
  const problems = error.problems ?? [];
  return [
    h('strong', {}, error.explanation ?? String(error.message ?? error)),
    problems.length ? h('ul', {}, problems.map((p) => h('li', {}, p))) : null,
  ];
}
