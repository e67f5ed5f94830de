'use strict';
/**
 * breakerbox: the Node.js client of the breakerbox Lambda extension (standard library only).
 *
 * The breakerbox layer ships this package as nodejs/node_modules/breakerbox, so with the layer
 * attached `require('breakerbox')` or `import ... from 'breakerbox'` is the whole install. The
 * extension answers on http://127.0.0.1:$BREAKERBOX_PORT; this module asks it whether a call may
 * go out and reports how the call went:
 *
 *   const { Breakerbox } = require('breakerbox');
 *   const bb = new Breakerbox();
 *   const checkStock = bb.wrap('inventory', callInventory, { timeout: 3000, fallback: (order, err) => backOrdered(order) });
 *   await checkStock(order);
 *
 * or `new CircuitBreaker('inventory', callInventory, options).fire(order)` in the shape of
 * circuitbreaker-lambda, or `middy(handler).use(bb.middleware('inventory'))`.
 *
 * Configuration comes from the environment, read once when a client is made: BREAKERBOX_PORT
 * (4243), AWS_SESSION_TOKEN (sent as X-Breakerbox-Token unless BREAKERBOX_AUTH=none),
 * BREAKERBOX_FAIL_MODE (`open` lets calls through when the extension cannot answer, `closed` denies
 * them) and BREAKERBOX_DISABLED (`true` bypasses the breaker, for tests). A bad value throws a
 * ConfigError naming the variable. The calls mirror the Go client (extension/client).
 */

const http = require('node:http');

const DEFAULT_PORT = 4243;
const DEFAULT_TIMEOUT_MS = 2000;
const TOKEN_HEADER = 'X-Breakerbox-Token';
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Base class of every error this module throws. */
class BreakerboxError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A variable of the environment (or an option) has a value the client cannot use. */
class ConfigError extends BreakerboxError {}

/** A circuit id the extension would refuse: 1-128 characters of A-Z a-z 0-9 . _ : -. */
class InvalidCircuitIdError extends BreakerboxError {}

/** The extension could not be reached, or gave no usable answer. */
class UnreachableError extends BreakerboxError {}

/** The extension answered with an error document ({"error":{"code","message"}}). */
class ExtensionError extends UnreachableError {
  constructor(status, code, message) {
    super(`breakerbox: extension answered ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

/** The extension does not know the circuit (404 not_found). */
class NotFoundError extends ExtensionError {}

/** The protected call took longer than the wrapper's timeout; it counts as a failure. */
class CallTimeoutError extends BreakerboxError {
  constructor(ms) {
    super(`breakerbox: the call took longer than its timeout of ${ms}ms`);
    this.code = 'BREAKERBOX_TIMEOUT';
  }
}

/**
 * The circuit denies the call: it is OPEN (or HALF_OPEN with its probe held elsewhere), or the
 * extension could not answer and BREAKERBOX_FAIL_MODE is closed. The protected call was not made.
 */
class CircuitOpenError extends BreakerboxError {
  constructor(circuit, decision, cause) {
    let msg = `breakerbox: circuit ${circuit} denies the call (${decision.state}`;
    if (decision.retryAt) msg += `, retry at ${decision.retryAt}`;
    if (decision.reason) msg += `: ${decision.reason}`;
    super(msg + ')', cause ? { cause } : undefined);
    this.circuit = circuit;
    this.decision = decision;
  }
}

function envChoice(env, name, choices, dflt) {
  const raw = env[name] ?? '';
  const v = String(raw).trim().toLowerCase();
  if (v === '') return dflt;
  if (!choices.includes(v)) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not valid: use one of ${choices.join(', ')} (or leave it unset for ${dflt})`);
  }
  return v;
}

function validateId(circuit) {
  if (typeof circuit !== 'string' || !ID.test(circuit)) {
    throw new InvalidCircuitIdError(`breakerbox: invalid circuit id ${JSON.stringify(circuit)}: want 1-128 characters of A-Z a-z 0-9 . _ : -`);
  }
}

function short(err) {
  const text = (err && (err.message || String(err))) || 'error';
  return text.split('\n')[0].slice(0, 120);
}

function path(circuit) {
  return '/v1/circuits/' + encodeURIComponent(circuit);
}

/** Talks to the extension. Create one per process (or use defaultClient()). */
class Breakerbox {
  /**
   * Options left undefined come from the environment (`env`, default process.env), read once here.
   * @param {import('./index').ClientOptions} [options]
   */
  constructor(options = {}) {
    const env = options.env ?? process.env;
    let port = options.port;
    if (port === undefined) {
      const raw = String(env.BREAKERBOX_PORT ?? '').trim();
      if (raw === '') port = DEFAULT_PORT;
      else if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
        throw new ConfigError(`BREAKERBOX_PORT=${JSON.stringify(raw)} is not a port: set it to the extension's port (1-65535) or leave it unset for ${DEFAULT_PORT}`);
      } else port = Number(raw);
    }
    let token = options.token;
    if (token === undefined) {
      const auth = envChoice(env, 'BREAKERBOX_AUTH', ['token', 'none'], 'token');
      token = auth === 'token' ? env.AWS_SESSION_TOKEN ?? '' : '';
    }
    const failOpen = options.failOpen ?? envChoice(env, 'BREAKERBOX_FAIL_MODE', ['open', 'closed'], 'open') === 'open';
    const disabled = options.disabled ?? envChoice(env, 'BREAKERBOX_DISABLED', ['true', 'false'], 'false') === 'true';
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeout) && timeout > 0)) throw new ConfigError(`timeout=${timeout}: want a positive number of milliseconds`);
    this.host = options.host ?? '127.0.0.1';
    this.port = port;
    this.token = token;
    this.failOpen = failOpen;
    this.disabled = disabled;
    this.timeout = timeout;
    this._hooks = options.onTransition ? [options.onTransition] : [];
    this._seen = new Map();
    // Keep-alive: the extension never closes idle connections; idle sockets do not hold the process.
    this._agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Adds a hook called with every transition this client sees ({circuit, from, to, reason}). */
  onTransition(hook) {
    this._hooks.push(hook);
    return this;
  }

  /** Reads a circuit; NotFoundError for a circuit the extension does not know. */
  async state(circuit) {
    validateId(circuit);
    if (this.disabled) throw new BreakerboxError('breakerbox: disabled (BREAKERBOX_DISABLED=true): no circuit state to read');
    const d = await this._call('GET', path(circuit));
    const c = {
      id: String(d.id ?? circuit),
      state: String(d.state ?? ''),
      allowed: Boolean(d.allowed),
      since: d.since ?? '',
      retryAt: d.retryAt ?? '',
      reason: d.reason ?? '',
      version: Number(d.version ?? 0),
      override: d.override ?? '',
      stale: Boolean(d.stale),
      ageMs: Number(d.ageMs ?? 0),
    };
    this._saw(circuit, c.state, c.reason);
    return c;
  }

  /**
   * May a call to the circuit go out now? Always resolves (only an invalid id throws): when the
   * extension cannot answer, `allowed` follows the fail mode and `unreachable` is true.
   */
  async acquire(circuit) {
    validateId(circuit);
    if (this.disabled) return { allowed: true, state: 'DISABLED', permit: '', retryAt: '', override: '', stale: false, reason: 'BREAKERBOX_DISABLED=true', unreachable: false };
    let d;
    try {
      d = await this._call('POST', path(circuit) + '/acquire');
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      return this._failDecision(err);
    }
    const out = {
      allowed: Boolean(d.allowed),
      state: String(d.state ?? ''),
      permit: d.permit ?? '',
      retryAt: d.retryAt ?? '',
      override: d.override ?? '',
      stale: Boolean(d.stale),
      reason: d.reason ?? '',
      unreachable: false,
    };
    this._saw(circuit, out.state, out.reason);
    return out;
  }

  /** Sends outcomes ({ok, latencyMs, permit?, error?}) of calls to the circuit. */
  async report(circuit, ...outcomes) {
    validateId(circuit);
    if (this.disabled || outcomes.length === 0) return;
    const body = {
      outcomes: outcomes.map((o) => {
        if (typeof o !== 'object' || o === null || typeof o.ok !== 'boolean' || !Number.isFinite(o.latencyMs)) {
          throw new TypeError(`report: an outcome is {ok: boolean, latencyMs: number, permit?, error?}, got ${JSON.stringify(o)}`);
        }
        const j = { ok: o.ok, latencyMs: o.latencyMs };
        if (o.permit) j.permit = String(o.permit);
        if (o.error) j.error = String(o.error);
        return j;
      }),
    };
    await this._call('POST', path(circuit) + '/outcomes', body);
  }

  /**
   * Acquires, calls fn(...args) when allowed, times it, reports the outcome (with the permit, if
   * one was granted) and resolves with fn's result or rejects with its error. When the circuit
   * denies the call fn is not called: options.fallback(...args, CircuitOpenError) gives the result,
   * else the CircuitOpenError rejects. options.timeout (ms) rejects a longer call with
   * CallTimeoutError and counts it as a failure (the call itself is not stopped: give it its own
   * timeout too). An error counts as a failure unless options.isFailure(err) says otherwise; a
   * timeout always does.
   */
  async call(circuit, fn, options = {}, ...args) {
    const d = await this.acquire(circuit);
    if (!d.allowed) {
      const err = new CircuitOpenError(circuit, d);
      if (options.fallback) return options.fallback(...args, err);
      throw err;
    }
    if (this.disabled) return fn(...args);
    const start = performance.now();
    let result;
    try {
      result = await withTimeout(() => fn(...args), options.timeout);
    } catch (err) {
      if (!d.unreachable) {
        const timedOut = err instanceof CallTimeoutError;
        const failed = timedOut || !options.isFailure || options.isFailure(err);
        await this._reportQuietly(circuit, { ok: !failed, latencyMs: performance.now() - start, permit: d.permit, error: failed ? (timedOut ? 'timeout' : short(err)) : '' });
      }
      throw err;
    }
    if (!d.unreachable) await this._reportQuietly(circuit, { ok: true, latencyMs: performance.now() - start, permit: d.permit });
    return result;
  }

  /** Returns fn wrapped: each call of the wrapper goes through call() with these options. */
  wrap(circuit, fn, options = {}) {
    validateId(circuit);
    if (typeof fn !== 'function') throw new TypeError('wrap: fn must be a function');
    const self = this;
    return async function breakerboxWrapped(...args) {
      return self.call(circuit, fn.bind(this), options, ...args);
    };
  }

  /**
   * A Middy middleware ({before, after, onError}) that guards the whole handler with the circuit:
   * `before` acquires (when denied, options.fallback(event, CircuitOpenError, context) becomes the
   * response, else the CircuitOpenError is thrown), `after` reports a success, `onError` a failure
   * (unless options.isFailure(err) says otherwise).
   */
  middleware(circuit, options = {}) {
    validateId(circuit);
    const calls = new WeakMap();
    return {
      before: async (request) => {
        const d = await this.acquire(circuit);
        if (!d.allowed) {
          const err = new CircuitOpenError(circuit, d);
          if (!options.fallback) throw err;
          request.response = await options.fallback(request.event, err, request.context);
          return request.response;
        }
        calls.set(request, { d, start: performance.now() });
        return undefined;
      },
      after: async (request) => {
        const c = calls.get(request);
        if (!c || c.d.unreachable || this.disabled) return;
        calls.delete(request);
        await this._reportQuietly(circuit, { ok: true, latencyMs: performance.now() - c.start, permit: c.d.permit });
      },
      onError: async (request) => {
        const c = calls.get(request);
        if (!c || c.d.unreachable || this.disabled) return;
        calls.delete(request);
        const err = request.error;
        const failed = !options.isFailure || options.isFailure(err);
        await this._reportQuietly(circuit, { ok: !failed, latencyMs: performance.now() - c.start, permit: c.d.permit, error: failed ? short(err) : '' });
      },
    };
  }

  _failDecision(err) {
    const mode = this.failOpen ? 'open' : 'closed';
    return { allowed: this.failOpen, state: 'UNKNOWN', permit: '', retryAt: '', override: '', stale: false, reason: `extension gave no answer (${err.message}); fail mode ${mode}`, unreachable: true };
  }

  async _reportQuietly(circuit, outcome) {
    try {
      await this.report(circuit, outcome);
    } catch {
      // best effort: the call's own result is what matters
    }
  }

  _saw(circuit, state, reason) {
    if (!state) return;
    const before = this._seen.get(circuit);
    this._seen.set(circuit, state);
    if (before !== undefined && before !== state) {
      const t = { circuit, from: before, to: state, reason };
      for (const hook of this._hooks) hook(t);
    }
  }

  _call(method, p, body) {
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

/** Runs fn, rejecting with CallTimeoutError when it takes longer than ms (no limit when undefined). */
function withTimeout(fn, ms) {
  if (ms === undefined || ms === null) return Promise.resolve().then(fn);
  if (!(Number.isFinite(ms) && ms > 0)) return Promise.reject(new ConfigError(`timeout=${ms}: want a positive number of milliseconds`));
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeoutError(ms)), ms);
  });
  return Promise.race([Promise.resolve().then(fn), limit]).finally(() => clearTimeout(timer));
}

/**
 * circuitbreaker-lambda's shape: `new CircuitBreaker('inventory', fn, {fallback, timeout}).fire(...args)`.
 * The circuit's state lives in the extension, shared by every environment; thresholds are the
 * extension's (BREAKERBOX_* variables), not options here.
 */
class CircuitBreaker {
  constructor(circuit, fn, options = {}) {
    validateId(circuit);
    if (typeof fn !== 'function') throw new TypeError('CircuitBreaker: fn must be a function');
    this.circuit = circuit;
    this.fn = fn;
    this.options = options;
    this.client = options.client ?? null;
    if (options.onTransition) this._client().onTransition(options.onTransition);
  }

  _client() {
    if (!this.client) this.client = defaultClient();
    return this.client;
  }

  /** Calls fn(...args) through the circuit (see Breakerbox.call). */
  fire(...args) {
    return this._client().call(this.circuit, this.fn, this.options, ...args);
  }
}

let shared = null;

/** The process's shared client, made from the environment on first use. */
function defaultClient() {
  if (!shared) shared = new Breakerbox();
  return shared;
}

/** fn wrapped with the circuit, through options.client or the default client. */
function circuitBreaker(circuit, fn, options = {}) {
  const b = new CircuitBreaker(circuit, fn, options);
  return (...args) => b.fire(...args);
}

/** A Middy middleware guarding the handler with options.circuit (see Breakerbox.middleware). */
function middleware(options) {
  if (!options || typeof options.circuit !== 'string') throw new ConfigError('middleware: options.circuit (the circuit id) is required');
  validateId(options.circuit);
  let m = null;
  const get = () => (m ??= (options.client ?? defaultClient()).middleware(options.circuit, options));
  return {
    before: (request) => get().before(request),
    after: (request) => get().after(request),
    onError: (request) => get().onError(request),
  };
}

module.exports = {
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  TOKEN_HEADER,
  Breakerbox,
  Client: Breakerbox,
  CircuitBreaker,
  circuitBreaker,
  middleware,
  defaultClient,
  BreakerboxError,
  ConfigError,
  InvalidCircuitIdError,
  UnreachableError,
  ExtensionError,
  NotFoundError,
  CallTimeoutError,
  CircuitOpenError,
};
