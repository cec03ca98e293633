// The emails the test stack's SMTP sink (scripts/smtp-sink) stored under
// $BAZAAR_VAR_DIR/mail/, parsed the way a mail client would: unfolded
// headers with RFC 2047 words decoded, multipart/alternative split, and each
// part's quoted-printable or base64 body decoded to UTF-8 text.
import fs from 'node:fs';
import path from 'node:path';

export const MAIL_DIR = path.join(process.env.BAZAAR_VAR_DIR || 'var/test', 'mail');

function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, '?==?') // whitespace between adjacent encoded-words is dropped
    .replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi, (_, enc, text) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}

// [{name, value}] of a header block (raw value kept in `raw`).
export function parseHeaders(block) {
  const out = [];
  for (const line of block.split('\r\n')) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1].raw += `\r\n${line}`;
    else if (line.length) {
      const i = line.indexOf(':');
      out.push({ name: line.slice(0, i).toLowerCase(), raw: line.slice(i + 1).replace(/^ /, '') });
    }
  }
  for (const h of out) h.value = decodeWords(h.raw.replace(/\r\n[ \t]/g, ' '));
  return out;
}

export function decodeQuotedPrintable(body) {
  const bytes = [];
  const s = body.replace(/=\r\n/g, '');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(headers, body) {
  const cte = (headers.find((h) => h.name === 'content-transfer-encoding')?.value || '7bit').toLowerCase();
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return Buffer.from(body, 'latin1').toString('utf8');
}

// {raw, file, headers, header(name), text, html, parts}
export function parseMail(raw, file) {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const header = (name) => headers.find((h) => h.name === name.toLowerCase())?.value;
  const body = raw.slice(split + 4);
  const ctype = header('content-type') || 'text/plain';
  const parts = [];
  const b = /boundary="([^"]+)"/.exec(ctype);
  if (b) {
    const chunks = body.split(`--${b[1]}`);
    for (const chunk of chunks.slice(1)) {
      if (chunk.startsWith('--')) break;
      const c = chunk.replace(/^\r\n/, '');
      const i = c.indexOf('\r\n\r\n');
      const ph = parseHeaders(c.slice(0, i));
      parts.push({ headers: ph, type: ph.find((h) => h.name === 'content-type')?.value, body: decodeBody(ph, c.slice(i + 4).replace(/\r\n$/, '')) });
    }
  } else parts.push({ headers, type: ctype, body: decodeBody(headers, body) });
  const of = (t) => parts.find((p) => p.type?.startsWith(t))?.body;
  return { raw, file, headers, header, parts, text: of('text/plain'), html: of('text/html') };
}

// Every stored message (latin1 keeps the bytes: bodies are 7-bit after all).
export function allMails() {
  if (!fs.existsSync(MAIL_DIR)) return [];
  return fs.readdirSync(MAIL_DIR).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort()
    .map((f) => parseMail(fs.readFileSync(path.join(MAIL_DIR, f), 'latin1'), f));
}

// The address inside a To/From value ("Name" <a@b> or a@b).
export const addressOf = (v) => (/<([^>]+)>\s*$/.exec(v || '')?.[1] || v || '').trim();

// Messages to `to` made by the email job `template` (its Message-ID starts
// with the job name).
export function mailsTo(to, template) {
  return allMails().filter((m) => addressOf(m.header('to')) === to &&
    (!template || (m.header('message-id') || '').startsWith(`<${template}.`)));
}
