'use strict';
// The client: the extension's HTTP API (state, acquire, report) and the wrapper around a call.

const { BreakerboxError, CallTimeoutError, CircuitOpenError, ConfigError, UnreachableError } = require('./errors');
const { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, envChoice, validateId, short } = require('./settings');
const { Transport, path } = require('./transport');

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
    this._transport = new Transport(options.host ?? '127.0.0.1', port, token, timeout);
    this.failOpen = failOpen;
    this.disabled = disabled;
    this._hooks = options.onTransition ? [options.onTransition] : [];
    this._seen = new Map();
  }

  /** The extension's address (127.0.0.1). */
  get host() {
    return this._transport.host;
  }

  /** The extension's port. */
  get port() {
    return this._transport.port;
  }

  /** The token sent in X-Breakerbox-Token ('' sends none). */
  get token() {
    return this._transport.token;
  }

  /** Milliseconds each request to the extension may take. */
  get timeout() {
    return this._transport.timeout;
  }

  set timeout(ms) {
    if (!(Number.isFinite(ms) && ms > 0)) throw new ConfigError(`timeout=${ms}: want a positive number of milliseconds`);
    this._transport.timeout = ms;
  }

  _call(method, p, body) {
    return this._transport.request(method, p, body);
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

module.exports = { Breakerbox };
