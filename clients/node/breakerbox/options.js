'use strict';
// The options of a wrapper, checked when it is made: not found out when the circuit first opens.

const { ConfigError } = require('./errors');
const { distance } = require('./names');

const show = (v) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'function' ? 'a function' : String(v));

/** ConfigError unless fn is undefined, null or a function. */
function checkFunction(name, fn, what) {
  if (fn !== undefined && fn !== null && typeof fn !== 'function') {
    throw new ConfigError(`${name}=${show(fn)} is not valid: want a function (${what})`);
  }
}

/** ConfigError unless ms is undefined, null or a positive number of milliseconds. */
function checkMs(name, ms) {
  if (ms !== undefined && ms !== null && !(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) {
    throw new ConfigError(`${name}=${show(ms)} is not valid: want a positive number of milliseconds`);
  }
}

/** circuitbreaker-lambda's options that are a circuit's policy here: [policy key, variable, value as written]. */
const POLICY_OPTIONS = {
  failureThreshold: ['consecutiveFailures', 'BREAKERBOX_CONSECUTIVE_FAILURES', (v) => String(v)],
  successThreshold: ['successThreshold', 'BREAKERBOX_SUCCESS_THRESHOLD', (v) => String(v)],
  maxTimeout: ['maxOpenDuration', 'BREAKERBOX_MAX_OPEN_DURATION', (v) => `${v / 1000}s`],
  windowDuration: ['window', 'BREAKERBOX_WINDOW', (v) => `${v / 1000}s`],
};

/**
 * ConfigError for a threshold among options: a circuit's thresholds are its policy, shared by every
 * function and the checker, so one function's option cannot set them, and ignoring it would be
 * worse. The message says where policy lives. With peerShape (new CircuitBreaker(fn, options)),
 * `timeout` is circuitbreaker-lambda's time OPEN, a policy too.
 */
function refuseThresholds(circuit, options, peerShape) {
  const knobs = { ...POLICY_OPTIONS };
  if (peerShape) knobs.timeout = ['openDuration', 'BREAKERBOX_OPEN_DURATION', (v) => `${v / 1000}s`];
  for (const [opt, [key, variable, fmt]] of Object.entries(knobs)) {
    const value = options[opt];
    if (value === undefined || value === null) continue;
    const v = fmt(value);
    let msg =
      `${opt}=${show(value)} is not applied by the client: a circuit's thresholds are its policy, kept in the breakerbox table ` +
      `and shared by every function and the checker. Set it once with \`breakerctl policy set ${circuit} ${key}=${v}\` ` +
      `(or ${variable}=${v} in the function's environment, for all its circuits), then remove ${opt} here`;
    if (opt === 'timeout') msg += ' (for a limit on each call, use callTimeout: milliseconds)';
    throw new ConfigError(msg);
  }
}

/** The options of call() and wrap(). */
const CALL_OPTIONS = Object.freeze(['fallback', 'timeout', 'isFailure']);

/** The known option k was probably meant to be: the one at an edit distance of at most 2, ignoring case. */
function resembles(k, known) {
  let best = '';
  let bestD = 3;
  for (const c of known) {
    const d = distance(k.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/**
 * ConfigError naming every option of options (with a value) that is not in known: an option the
 * client ignored would leave a mistake silent until it mattered ({failMode: 'closed'} failing open,
 * a misspelt fallback not called when the circuit opens).
 */
function refuseUnknown(where, options, known) {
  const unknown = Object.keys(options).filter((k) => options[k] !== undefined && !known.includes(k));
  if (unknown.length === 0) return;
  const named = unknown.map((k) => {
    const s = resembles(k, known);
    return s ? `${JSON.stringify(k)} (did you mean ${JSON.stringify(s)}?)` : JSON.stringify(k);
  });
  throw new ConfigError(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${named.join(', ')}: the options are ${known.join(', ')}`);
}

/**
 * Checks a wrapper's options when it is made: {fallback, timeout, isFailure} (or the names in known)
 * and nothing else.
 */
function checkCallOptions(options, known = CALL_OPTIONS, where = 'options') {
  if (options === null || typeof options !== 'object') throw new ConfigError(`options: ${show(options)} is not valid: want an object`);
  refuseUnknown(where, options, known);
  checkFunction('fallback', options.fallback, 'called with the call\'s arguments and the CircuitOpenError when the circuit denies the call');
  checkFunction('isFailure', options.isFailure, 'called with an error; true counts it as a failure');
  checkFunction('onTransition', options.onTransition, 'called with {circuit, from, to, reason}');
  checkMs('timeout', options.timeout);
}

module.exports = { CALL_OPTIONS, checkFunction, checkMs, checkCallOptions, refuseThresholds, refuseUnknown };
