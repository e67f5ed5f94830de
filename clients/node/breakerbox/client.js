'use strict';
// The client: the extension's HTTP API (state, acquire, report) and the wrapper around a call.

const { BreakerboxError, CallTimeoutError, CircuitOpenError, ConfigError, NotFoundError, UnreachableError } = require('./errors');
const { DEFAULT_TIMEOUT_MS, readDisabled, readEnvFields, validateId, short } = require('./settings');
const { warnUnknown } = require('./names');
const { checkCallOptions, checkFunction, refuseThresholds, refuseUnknown } = require('./options');

/** The options of new Breakerbox(). */
const CLIENT_OPTIONS = Object.freeze(['port', 'host', 'token', 'failOpen', 'disabled', 'timeout', 'onTransition', 'env', 'logger', 'transport']);
const health = require('./health');
const { Transport, path } = require('./transport');

/** Talks to the extension. Create one per process (or use defaultClient()). */
class Breakerbox {
  /**
   * Options left undefined come from the environment (`env`, default process.env), read once here.
   * @param {import('./index').ClientOptions} [options]
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError(`options: ${JSON.stringify(options)} is not valid: want an object`);
    refuseUnknown('new Breakerbox', options, CLIENT_OPTIONS);
    this._env = options.env ?? process.env;
    const logger = options.logger ?? console;
    if (typeof logger.warn !== 'function') throw new ConfigError('logger: not valid: want an object with warn() (and info()), such as console');
    this._logger = logger;
    checkFunction('onTransition', options.onTransition, 'called with {circuit, from, to, reason}');
    for (const k of ['failOpen', 'disabled']) {
      if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new ConfigError(`${k}: ${JSON.stringify(options[k])} is not valid: want true, false or undefined (from the environment)`);
    }
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)) {
      throw new ConfigError(`port: ${JSON.stringify(options.port)} is not valid: want the extension's TCP port, 1 to 65535`);
    }
    // An option overrides its variable, and the variable's mistake with it.
    const { settings: env, errors } = readEnvFields(this._env);
    const bad = Object.entries(errors).filter(([field]) => options[field] === undefined).map(([, msg]) => msg);
    if (bad.length > 0) throw new ConfigError(bad.join('; '));
    warnUnknown(this._env, logger);
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeout) && timeout > 0)) throw new ConfigError(`timeout: ${JSON.stringify(timeout)} is not valid: want a positive number of milliseconds`);
    this._transport = options.transport ?? new Transport(options.host ?? '127.0.0.1', options.port ?? env.port, options.token ?? env.token, timeout);
    this._transport.timeout = timeout;
    this.failOpen = options.failOpen ?? env.failOpen;
    this._disabled = options.disabled;
    this._hooks = options.onTransition ? [options.onTransition] : [];
    this._seen = new Map();
    this._carried = new Set();
    this._unreachable = 0;
  }

  /**
   * Whether the breaker is bypassed now: the `disabled` option when given, else BREAKERBOX_DISABLED
   * as the environment holds it at this moment (a ConfigError when it is neither true nor false).
   */
  get disabled() {
    return this._disabled ?? readDisabled(this._env);
  }

  set disabled(v) {
    if (v !== undefined && typeof v !== 'boolean') throw new ConfigError(`disabled: ${JSON.stringify(v)} is not valid: want true, false or undefined (from the environment)`);
    this._disabled = v;
  }

  /**
   * How many calls this client decided without the extension's answer, by the fail mode: with
   * BREAKERBOX_FAIL_MODE=open, the calls that went out unprotected. Above zero, the breaker is off.
   */
  get unreachableCalls() {
    return this._unreachable;
  }

  /** Closes the kept-alive connections to the extension (a later call opens new ones). */
  close() {
    this._transport.close?.();
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
    checkFunction('onTransition', hook, 'called with {circuit, from, to, reason}');
    this._hooks.push(hook);
    return this;
  }

  /** Reads a circuit; NotFoundError for a circuit the extension does not know. */
  async state(circuit) {
    validateId(circuit);
    if (this.disabled) throw new BreakerboxError('breakerbox: disabled (BREAKERBOX_DISABLED=true): no circuit state to read');
    let d;
    try {
      d = await this._call('GET', path(circuit));
    } catch (err) {
      // A circuit that carried this client's traffic but never failed has no item yet (healthy calls
      // write nothing): CLOSED in the extension's model.
      if (!(err instanceof NotFoundError) || !this._carried.has(circuit)) throw err;
      return { id: circuit, state: 'CLOSED', allowed: this.failOpen, since: '', retryAt: '', reason: "no failure recorded yet: the circuit's item is written at its first failure", version: 0, override: '', stale: false, ageMs: 0 };
    }
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
    this._saw(circuit, c.state, c.reason, c.stale);
    return c;
  }

  /**
   * May a call to the circuit go out now? Always resolves (only an invalid id or invalid options
   * reject): when the extension cannot answer, `allowed` follows the fail mode and `unreachable` is true.
   *
   * options.call = false is for a batch of calls made under this one answer and reported together
   * (the Go client's AcquireBatch): the extension names no call (`call` is ''), so none counts as slow
   * before its outcome comes back. By default the extension names one call and keeps it under way
   * until an outcome brings the name back; a batch that runs longer than BREAKERBOX_SLOW_CALL would
   * leave that one name under way and count it as slow, however fast its calls were. Report each
   * call's outcome without a name. A `call` that is not a boolean, or another option, rejects with a
   * TypeError before anything is sent.
   */
  async acquire(circuit, options = undefined) {
    validateId(circuit);
    const named = checkAcquireOptions(options);
    if (this.disabled) return { allowed: true, state: 'DISABLED', permit: '', call: '', retryAt: '', override: '', stale: false, reason: 'BREAKERBOX_DISABLED=true', unreachable: false };
    let d;
    try {
      // No body by default (the usual request, which costs the extension nothing to read);
      // {"call":false} asks for an answer without a call name.
      d = await this._call('POST', path(circuit) + '/acquire', named ? undefined : { call: false });
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      this._unreachable++;
      health.unreachable(`${this.host}:${this.port}`, this.failOpen, err, this._logger);
      return this._failDecision(err);
    }
    health.reachable(`${this.host}:${this.port}`, this._logger);
    const out = {
      allowed: Boolean(d.allowed),
      state: String(d.state ?? ''),
      permit: d.permit ?? '',
      call: d.call ?? '',
      retryAt: d.retryAt ?? '',
      override: d.override ?? '',
      stale: Boolean(d.stale),
      reason: d.reason ?? '',
      unreachable: false,
    };
    this._saw(circuit, out.state, out.reason, out.stale);
    if (out.allowed) this._carried.add(circuit);
    return out;
  }

  /**
   * Sends outcomes ({ok, latencyMs, permit?, call?, error?}) of calls to the circuit. call is the
   * name acquire gave the call; without it the extension matches the outcome to the call under way
   * whose start is nearest to (now - latencyMs).
   */
  async report(circuit, ...outcomes) {
    validateId(circuit);
    if (this.disabled || outcomes.length === 0) return;
    const body = {
      outcomes: outcomes.map((o) => {
        if (typeof o !== 'object' || o === null || typeof o.ok !== 'boolean' || !Number.isFinite(o.latencyMs)) {
          throw new TypeError(`report: an outcome is {ok: boolean, latencyMs: number, permit?, call?, error?}, got ${JSON.stringify(o)}`);
        }
        const j = { ok: o.ok, latencyMs: o.latencyMs };
        if (o.permit) j.permit = String(o.permit);
        if (o.call) j.call = String(o.call);
        if (o.error) j.error = String(o.error);
        return j;
      }),
    };
    this._carried.add(circuit);
    await this._call('POST', path(circuit) + '/outcomes', body);
  }

  /**
   * Tells the extension that the call decision allowed was not made, or was cancelled: it counts
   * nothing, where a call acquired and never reported counts as slow once it has run past
   * BREAKERBOX_SLOW_CALL, and a probe's permit is given back at once rather than holding the
   * half-open slot until its lease ends. Sends nothing for a decision that names no call and holds
   * no permit (denied, unreachable, DISABLED, or acquire(id, {call: false})). A call that ran and
   * failed is reported (report, or the wrappers), not cancelled.
   */
  async cancel(circuit, decision) {
    validateId(circuit);
    if (typeof decision !== 'object' || decision === null) {
      throw new TypeError(`cancel: pass the decision acquire returned, got ${JSON.stringify(decision)}`);
    }
    if (this.disabled || !(decision.call || decision.permit)) return;
    const item = { cancelled: true };
    if (decision.call) item.call = String(decision.call);
    if (decision.permit) item.permit = String(decision.permit);
    await this._call('POST', path(circuit) + '/outcomes', { outcomes: [item] });
  }

  /**
   * Acquires, calls fn(...args) when allowed, times it, reports the outcome (with the call's name
   * and the permit, if one was granted) and resolves with fn's result or rejects with its error. When the circuit
   * denies the call fn is not called: options.fallback(...args, CircuitOpenError) gives the result,
   * else the CircuitOpenError rejects. options.timeout (ms) rejects a longer call with
   * CallTimeoutError and counts it as a failure (the call itself is not stopped: give it its own
   * timeout too). An error counts as a failure unless options.isFailure(err) says otherwise; a
   * timeout always does.
   */
  async call(circuit, fn, options = {}, ...args) {
    if (options !== null && typeof options === 'object') refuseThresholds(circuit, options, false);
    checkCallOptions(options, undefined, 'call');
    const d = await this.acquire(circuit);
    if (!d.allowed) {
      const err = new CircuitOpenError(circuit, d);
      if (options.fallback) return options.fallback(...args, err);
      throw err;
    }
    if (d.state === 'DISABLED') return fn(...args);
    const start = performance.now();
    let result;
    try {
      result = await withTimeout(() => fn(...args), options.timeout);
    } catch (err) {
      if (!d.unreachable) {
        const timedOut = err instanceof CallTimeoutError;
        const failed = timedOut || !options.isFailure || options.isFailure(err);
        await this._reportQuietly(circuit, { ok: !failed, latencyMs: performance.now() - start, permit: d.permit, call: d.call, error: failed ? (timedOut ? 'timeout' : short(err)) : '' });
      }
      throw err;
    }
    if (!d.unreachable) await this._reportQuietly(circuit, { ok: true, latencyMs: performance.now() - start, permit: d.permit, call: d.call });
    return result;
  }

  /** Returns fn wrapped: each call of the wrapper goes through call() with these options. */
  wrap(circuit, fn, options = {}) {
    validateId(circuit);
    if (typeof fn !== 'function') throw new TypeError('wrap: fn must be a function');
    if (options !== null && typeof options === 'object') refuseThresholds(circuit, options, false);
    checkCallOptions(options, undefined, 'wrap');
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
    checkCallOptions(options, ['fallback', 'isFailure'], 'middleware');
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
        if (!c || c.d.unreachable || c.d.state === 'DISABLED') return;
        calls.delete(request);
        await this._reportQuietly(circuit, { ok: true, latencyMs: performance.now() - c.start, permit: c.d.permit, call: c.d.call });
      },
      onError: async (request) => {
        const c = calls.get(request);
        if (!c || c.d.unreachable || c.d.state === 'DISABLED') return;
        calls.delete(request);
        const err = request.error;
        const failed = !options.isFailure || options.isFailure(err);
        await this._reportQuietly(circuit, { ok: !failed, latencyMs: performance.now() - c.start, permit: c.d.permit, call: c.d.call, error: failed ? short(err) : '' });
      },
    };
  }

  _failDecision(err) {
    const mode = this.failOpen ? 'open' : 'closed';
    return { allowed: this.failOpen, state: 'UNKNOWN', permit: '', call: '', retryAt: '', override: '', stale: false, reason: `extension gave no answer (${err.message}); fail mode ${mode}`, unreachable: true };
  }

  async _reportQuietly(circuit, outcome) {
    try {
      await this.report(circuit, outcome);
    } catch {
      // best effort: the call's own result is what matters
    }
  }

  _saw(circuit, state, reason, stale) {
    // No item: a circuit that has never failed, CLOSED in the extension's model (which logs its first
    // trip as CLOSED→OPEN), so the hooks see CLOSED→OPEN too. UNKNOWN and stale: no state to compare.
    if (state === 'UNKNOWN' && !stale) state = 'CLOSED';
    if (!state || state === 'UNKNOWN') return;
    const before = this._seen.get(circuit);
    this._seen.set(circuit, state);
    if (before !== undefined && before !== state) {
      const t = { circuit, from: before, to: state, reason };
      for (const hook of this._hooks) hook(t);
    }
  }
}

/**
 * Whether an acquire with these options names its call: true for undefined, {} or {call: true},
 * false for {call: false}. Anything else is a TypeError that says what acquire takes.
 */
function checkAcquireOptions(options) {
  if (options === undefined) return true;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`acquire: options ${shown(options)} are not valid: want {call: false} for a batch of calls made under one answer, or nothing`);
  }
  const unknown = Object.keys(options).filter((k) => k !== 'call');
  if (unknown.length > 0) throw new TypeError(`acquire: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}: acquire takes {call: false} for a batch of calls made under one answer`);
  const call = options.call;
  if (call === undefined) return true;
  if (typeof call !== 'boolean') {
    throw new TypeError(`acquire: call=${shown(call)} is not valid: want true (name the call, the default) or false (a batch of calls made under one answer and reported together)`);
  }
  return call;
}

/** A value as an error message shows it: JSON where it has one. */
function shown(v) {
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
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
