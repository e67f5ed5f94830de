'use strict';
// The HTTP exchange with the extension: kept-alive connections, error documents, one timer per request.

const http = require('node:http');

const { ExtensionError, NotFoundError, UnreachableError } = require('./errors');
const { TOKEN_HEADER } = require('./settings');

/** Sends requests to the extension on host:port, each bounded by timeout ms, with the token. */
class Transport {
  constructor(host, port, token, timeout) {
    this.host = host;
    this.port = port;
    this.token = token;
    this.timeout = timeout;
    // Keep-alive: the extension never closes idle connections; idle sockets do not hold the process.
    this._agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Closes the kept-alive sockets. */
  close() {
    this._agent.destroy();
    this._agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  request(method, p, body) {
    return new Promise((resolve_, reject_) => {
      // One timer bounds the whole exchange (connect, send, answer).
      let timer = null;
      const resolve = (v) => {
        clearTimeout(timer);
        resolve_(v);
      };
      const reject = (e) => {
        clearTimeout(timer);
        reject_(e);
      };
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers = { Accept: 'application/json' };
      if (data) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(data.length);
      }
      if (this.token) headers[TOKEN_HEADER] = this.token;
      const where = `${this.host}:${this.port}`;
      const req = http.request(
        { host: this.host, port: this.port, method, path: p, headers, agent: this._agent },
        (res) => {
          const chunks = [];
          let size = 0;
          res.on('data', (c) => {
            size += c.length;
            if (size <= 1 << 20) chunks.push(c);
          });
          res.on('error', (err) => reject(new UnreachableError(`breakerbox: extension at ${where}: ${method} ${p}: ${err.message}`, { cause: err })));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) {
              let code = 'unexpected';
              let message = raw.trim();
              try {
                const doc = JSON.parse(raw);
                if (doc && doc.error && doc.error.code) ({ code, message } = doc.error);
              } catch {
                // not an error document: keep the raw text
              }
              reject(status === 404 && code === 'not_found' ? new NotFoundError(status, code, message) : new ExtensionError(status, code, message));
              return;
            }
            if (raw === '') return resolve({});
            try {
              const doc = JSON.parse(raw);
              if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
              resolve(doc);
            } catch (err) {
              reject(new UnreachableError(`breakerbox: the answer to ${method} ${p} is not JSON: ${err.message}`));
            }
          });
        },
      );
      req.on('error', (err) => reject(new UnreachableError(`breakerbox: extension unreachable at ${where}: ${method} ${p}: ${err.message}`, { cause: err })));
      timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeout}ms`)), this.timeout);
      timer.unref();
      req.end(data);
    });
  }
}

function path(circuit) {
  return '/v1/circuits/' + encodeURIComponent(circuit);
}

module.exports = { Transport, path };
