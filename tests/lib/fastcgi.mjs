// A small FastCGI client (responder role, FastCGI 1.0) for stack tests that
// must choose which bazaar-fcgi process answers: it talks to one process's
// unix socket directly, as nginx would, instead of going through nginx's
// load balancing. One request at a time per connection, kept open between
// requests (FCGI_KEEP_CONN), so a test can hold a few long-lived connections
// per process the way nginx does.
//
//   const c = await FcgiConnection.open(`${VAR}/run/fcgi-0.sock`);
//   const res = await c.request('GET', '/api/v1/books/1');
//   res.status, res.headers.get('x-cache'), res.json
import net from 'node:net';

const VERSION = 1;
const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const STDERR = 7;
const RESPONDER = 1;
const KEEP_CONN = 1;
const MAX_CONTENT = 65535;

function record(type, requestId, content = Buffer.alloc(0)) {
  const padding = (8 - (content.length % 8)) % 8;
  const header = Buffer.alloc(8);
  header.writeUInt8(VERSION, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(requestId, 2);
  header.writeUInt16BE(content.length, 4);
  header.writeUInt8(padding, 6);
  return Buffer.concat([header, content, Buffer.alloc(padding)]);
}

// A stream (PARAMS, STDIN) split into records, ended by an empty record.
function stream(type, requestId, data) {
  const out = [];
  for (let i = 0; i < data.length; i += MAX_CONTENT) out.push(record(type, requestId, data.subarray(i, i + MAX_CONTENT)));
  out.push(record(type, requestId));
  return out;
}

function length(n) {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0);
  return b;
}

export function encodeParams(params) {
  const parts = [];
  for (const [name, value] of Object.entries(params)) {
    const n = Buffer.from(String(name));
    const v = Buffer.from(String(value));
    parts.push(length(n.length), length(v.length), n, v);
  }
  return Buffer.concat(parts);
}

// "Status: 404 Not Found\r\nContent-Type: ...\r\n\r\nbody" → {status, headers, text, json}
export function parseCgiResponse(buf) {
  let split = buf.indexOf('\r\n\r\n');
  let sep = 4;
  if (split < 0) { split = buf.indexOf('\n\n'); sep = 2; }
  if (split < 0) throw new Error(`FastCGI response without a header block: ${buf.toString().slice(0, 200)}`);
  const headers = new Map();
  let status = 200;
  for (const line of buf.subarray(0, split).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'status') status = Number.parseInt(value, 10);
    else headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  const text = buf.subarray(split + sep).toString('utf8');
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status, headers: { get: (n) => headers.get(n.toLowerCase()) ?? null, all: headers }, text, json };
}

export class FcgiConnection {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.pending = null;  // {resolve, reject, stdout: [], stderr: []}
    this.closed = false;
    socket.on('data', (chunk) => this.#onData(chunk));
    const fail = (err) => {
      this.closed = true;
      if (this.pending) {
        const p = this.pending;
        this.pending = null;
        p.reject(err ?? new Error('FastCGI connection closed before the response ended'));
      }
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  static open(path) {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(path);
      s.once('connect', () => { s.off('error', reject); resolve(new FcgiConnection(s)); });
      s.once('error', reject);
    });
  }

  // `headers` become HTTP_* params like nginx sends them; `body` a string,
  // Buffer or object (sent as JSON).
  request(method, uri, { headers = {}, body, token, remoteAddr = '127.0.0.1', timeoutMs = 10000 } = {}) {
    if (this.closed) return Promise.reject(new Error('FastCGI connection is closed'));
    if (this.pending) return Promise.reject(new Error('one request at a time per FastCGI connection'));
    let payload = Buffer.alloc(0);
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      if (Buffer.isBuffer(body)) payload = body;
      else if (typeof body === 'string') payload = Buffer.from(body);
      else {
        payload = Buffer.from(JSON.stringify(body));
        if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
      }
    }
    const q = uri.indexOf('?');
    const params = {
      GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', REQUEST_SCHEME: 'http',
      REQUEST_METHOD: method, REQUEST_URI: uri, DOCUMENT_URI: q < 0 ? uri : uri.slice(0, q),
      QUERY_STRING: q < 0 ? '' : uri.slice(q + 1), REMOTE_ADDR: remoteAddr, REMOTE_PORT: '50000',
      SERVER_PORT: '80', CONTENT_LENGTH: payload.length ? String(payload.length) : '', CONTENT_TYPE: '',
    };
    for (const [k, v] of Object.entries(h)) {
      const name = k.toUpperCase().replace(/-/g, '_');
      if (name === 'CONTENT_TYPE') params.CONTENT_TYPE = v;
      else params[`HTTP_${name}`] = v;
    }
    const id = 1;
    const begin = Buffer.alloc(8);
    begin.writeUInt16BE(RESPONDER, 0);
    begin.writeUInt8(KEEP_CONN, 2);
    const out = [record(BEGIN_REQUEST, id, begin), ...stream(PARAMS, id, encodeParams(params)), ...stream(STDIN, id, payload)];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        this.socket.destroy();
        reject(new Error(`FastCGI ${method} ${uri}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        stdout: [], stderr: [],
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.socket.write(Buffer.concat(out));
    });
  }

  close() {
    this.closed = true;
    this.socket.end();
  }

  #onData(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 8) {
      const type = this.buffer.readUInt8(1);
      const len = this.buffer.readUInt16BE(4);
      const pad = this.buffer.readUInt8(6);
      if (this.buffer.length < 8 + len + pad) return;
      const content = this.buffer.subarray(8, 8 + len);
      this.buffer = this.buffer.subarray(8 + len + pad);
      const p = this.pending;
      if (!p) continue;  // a late record of a request that timed out
      if (type === STDOUT) p.stdout.push(Buffer.from(content));
      else if (type === STDERR) p.stderr.push(Buffer.from(content));
      else if (type === END_REQUEST) {
        this.pending = null;
        try {
          const res = parseCgiResponse(Buffer.concat(p.stdout));
          res.stderr = Buffer.concat(p.stderr).toString();
          p.resolve(res);
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }
}
