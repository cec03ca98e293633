// A small FastCGI client (the web-server side of the protocol, FastCGI 1.0
// responder) for tests that talk to a bazaar-fcgi unix socket directly, as
// nginx would, without its load balancing: a test chooses which process
// answers, sends requests in pieces, stalls half-way, or keeps several on one
// connection (FCGI_KEEP_CONN).
//
//   const c = await FcgiConnection.open(`${VAR}/run/fcgi-0.sock`);
//   const res = await c.request({ uri: '/api/v1/books/1', token });
//   res.status, res.headers['x-cache'], res.json
import net from 'node:net';

const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const STDERR = 7;

export function record(type, id, content = Buffer.alloc(0)) {
  const body = Buffer.from(content);
  if (body.length > 65535) throw new Error('record content over 65535 bytes: split it');
  const padding = (8 - (body.length % 8)) % 8;
  const head = Buffer.from([1, type, id >> 8, id & 0xff, body.length >> 8, body.length & 0xff, padding, 0]);
  return Buffer.concat([head, body, Buffer.alloc(padding)]);
}

function lengthBytes(n) {
  if (n < 128) return Buffer.from([n]);
  return Buffer.from([((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

export function encodeParams(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    const name = Buffer.from(k);
    const value = Buffer.from(String(v));
    parts.push(lengthBytes(name.length), lengthBytes(value.length), name, value);
  }
  return Buffer.concat(parts);
}

function stream(type, id, data) {
  const out = [];
  for (let i = 0; i < data.length; i += 65535) out.push(record(type, id, data.subarray(i, i + 65535)));
  out.push(record(type, id));
  return Buffer.concat(out);
}

// The bytes of one request as nginx sends them: BEGIN_REQUEST (responder,
// FCGI_KEEP_CONN unless keepConn is false), PARAMS, STDIN. `headers` become
// HTTP_* params; `body` is a string, a Buffer or an object (sent as JSON);
// `token` becomes a bearer Authorization header.
export function encodeRequest({ id = 1, keepConn = true, method = 'GET', uri = '/api/v1/ping', headers = {},
  body = '', token, remoteAddr = '127.0.0.1', params = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let data;
  if (Buffer.isBuffer(body) || typeof body === 'string') data = Buffer.from(body);
  else {
    data = Buffer.from(JSON.stringify(body));
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  const q = uri.indexOf('?');
  const all = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: method,
    REQUEST_URI: uri,
    DOCUMENT_URI: q < 0 ? uri : uri.slice(0, q),
    QUERY_STRING: q < 0 ? '' : uri.slice(q + 1),
    CONTENT_LENGTH: data.length ? String(data.length) : '',
    CONTENT_TYPE: data.length ? 'application/json' : '',
    REMOTE_ADDR: remoteAddr,
    REMOTE_PORT: '50000',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
  };
  for (const [k, v] of Object.entries(h)) {
    const name = k.toUpperCase().replace(/-/g, '_');
    if (name === 'CONTENT_TYPE') all.CONTENT_TYPE = v;
    else all[`HTTP_${name}`] = v;
  }
  Object.assign(all, params);
  const begin = record(BEGIN_REQUEST, id, Buffer.from([0, 1, keepConn ? 1 : 0, 0, 0, 0, 0, 0]));
  return Buffer.concat([begin, stream(PARAMS, id, encodeParams(all)), stream(STDIN, id, data)]);
}

// Parses the CGI response of STDOUT: "Status: 200 OK\r\nHeader: v\r\n\r\nbody"
// → {status, headers (lower-case names; repeated ones joined by ", "), body,
// text (the same as body), json (undefined unless the body is JSON)}.
export function parseCgi(stdout) {
  let split = stdout.indexOf('\r\n\r\n');
  let sep = 4;
  if (split < 0) { split = stdout.indexOf('\n\n'); sep = 2; }
  if (split < 0) throw new Error(`FastCGI response without a header block: ${stdout.toString().slice(0, 200)}`);
  const headers = {};
  for (const line of stdout.subarray(0, split).toString('latin1').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const status = Number((headers.status || '200').split(' ')[0]);
  const body = stdout.subarray(split + sep).toString('utf8');
  let json;
  try { json = body ? JSON.parse(body) : undefined; } catch { json = undefined; }
  return { status, headers, body, text: body, json };
}

// One connection to a bazaar-fcgi socket. `response()` resolves with the next
// complete response ({status, headers, body, json}); `closed` resolves when
// the server closes the connection.
export class FcgiConnection {
  static open(path) {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(path);
      sock.once('connect', () => resolve(new FcgiConnection(sock)));
      sock.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.stdout = [];
    this.done = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => sock.once('close', resolve));
    this.isClosed = false;
    sock.on('close', () => {
      this.isClosed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed before the response'));
    });
    sock.on('error', () => {});
    sock.on('data', (d) => this.onData(d));
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 8) {
      const len = (this.buf[4] << 8) | this.buf[5];
      const total = 8 + len + this.buf[6];
      if (this.buf.length < total) break;
      const type = this.buf[1];
      const content = this.buf.subarray(8, 8 + len);
      this.buf = this.buf.subarray(total);
      if (type === STDOUT && len) this.stdout.push(Buffer.from(content));
      else if (type === END_REQUEST) {
        const res = parseCgi(Buffer.concat(this.stdout));
        this.stdout = [];
        const w = this.waiters.shift();
        if (w) w.resolve(res);
        else this.done.push(res);
      } else if (type !== STDERR && type !== STDOUT) {
        this.sock.destroy(new Error(`unexpected record type ${type}`));
      }
    }
  }

  write(bytes) {
    return new Promise((resolve, reject) => this.sock.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  response(timeoutMs = 10000) {
    if (this.done.length) return Promise.resolve(this.done.shift());
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (r) => { clearTimeout(t); resolve(r); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
      // A late answer would be taken for the next request's: the connection
      // is closed instead, as nginx does after its read timeout.
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.sock.destroy();
        reject(new Error(`no FastCGI response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  // One request and its response; `opts` as encodeRequest's, plus
  // `timeoutMs` (10 s).
  async request(opts = {}, timeoutMs = opts.timeoutMs) {
    await this.write(encodeRequest(opts));
    return this.response(timeoutMs);
  }

  close() {
    this.sock.destroy();
  }
}
