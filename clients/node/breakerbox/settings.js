'use strict';
// What the client reads from the environment, and the rules its values follow (the extension's).

const { ConfigError, InvalidCircuitIdError } = require('./errors');

const DEFAULT_PORT = 4243;
const DEFAULT_TIMEOUT_MS = 2000;
const TOKEN_HEADER = 'X-Breakerbox-Token';
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every BREAKERBOX_* variable some part of breakerbox reads (the extension, the clients, the
 * ventilator, the checker, breakerctl): they share the function's environment, so none of them is
 * unknown to the others. A copy of the Go list internal/envnames.Known, checked equal by the tests.
 */
const KNOWN_VARIABLES = Object.freeze([
  'BREAKERBOX_AUTH',
  'BREAKERBOX_BACKOFF_MULTIPLIER',
  'BREAKERBOX_CACHE_SIZE',
  'BREAKERBOX_CACHE_TTL',
  'BREAKERBOX_CHECKER_ARN',
  'BREAKERBOX_CIRCUIT',
  'BREAKERBOX_CIRCUITS',
  'BREAKERBOX_CONSECUTIVE_FAILURES',
  'BREAKERBOX_COUNTER_SHARDS',
  'BREAKERBOX_DISABLED',
  'BREAKERBOX_EVENT_BUS',
  'BREAKERBOX_FAILURE_RATE',
  'BREAKERBOX_FAIL_MODE',
  'BREAKERBOX_FLUSH_INTERVAL',
  'BREAKERBOX_HALF_OPEN_PROBES',
  'BREAKERBOX_LOG_LEVEL',
  'BREAKERBOX_MAX_OPEN_DURATION',
  'BREAKERBOX_MIN_CALLS',
  'BREAKERBOX_OPEN_DURATION',
  'BREAKERBOX_PORT',
  'BREAKERBOX_PROBE_LEASE',
  'BREAKERBOX_PUBLISH_TIMEOUT',
  'BREAKERBOX_SLOW_CALL',
  'BREAKERBOX_SLOW_CALL_RATE',
  'BREAKERBOX_STALE_TTL',
  'BREAKERBOX_STORE_TIMEOUT',
  'BREAKERBOX_SUCCESS_THRESHOLD',
  'BREAKERBOX_TABLE',
  'BREAKERBOX_WINDOW',
]);

/** value as the extension quotes it in its messages (Go's %q): "clsoed". */
const quote = (value) => JSON.stringify(String(value));

/** The lower-cased value of name, one of choices (dflt when unset), or a ConfigError in the extension's words. */
function envChoice(env, name, choices, dflt, want) {
  const raw = String(env[name] ?? '').trim();
  const v = raw.toLowerCase();
  if (v === '') return dflt;
  if (!choices.includes(v)) throw new ConfigError(`${name}=${quote(raw)} is not valid: want ${want ?? choices.join(' or ')}`);
  return v;
}

/** BREAKERBOX_DISABLED: true bypasses the breaker (for tests); false or unset does not. */
const readDisabled = (env) => envChoice(env, 'BREAKERBOX_DISABLED', ['true', 'false'], 'false', 'true (bypass the breaker, for tests) or false') === 'true';

/**
 * Reads the variables the client shares with the extension, with the extension's rules: a value the
 * extension would refuse at init is refused here too (one ConfigError naming every bad one).
 */
function readEnv(env) {
  const errors = [];
  const attempt = (fn, fallback) => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err.message);
      return fallback;
    }
  };
  const port = attempt(() => {
    const raw = String(env.BREAKERBOX_PORT ?? '').trim();
    if (raw === '') return DEFAULT_PORT;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
      throw new ConfigError(`BREAKERBOX_PORT=${quote(raw)} is not valid: want the extension's TCP port, 1 to 65535 (default ${DEFAULT_PORT})`);
    }
    return Number(raw);
  }, DEFAULT_PORT);
  const token = attempt(() => {
    const session = String(env.AWS_SESSION_TOKEN ?? '').trim();
    const auth = envChoice(env, 'BREAKERBOX_AUTH', ['token', 'none'], '', 'token or none');
    if (auth === 'none') return '';
    if (auth === 'token' && session === '') throw new ConfigError('BREAKERBOX_AUTH="token" needs AWS_SESSION_TOKEN, which is not set (use none for local work)');
    return session;
  }, '');
  const failOpen = attempt(
    () => envChoice(env, 'BREAKERBOX_FAIL_MODE', ['open', 'closed'], 'open', 'open (allow calls when the extension cannot answer) or closed (deny them)') === 'open',
    true,
  );
  const disabled = attempt(() => readDisabled(env), false);
  if (errors.length > 0) throw new ConfigError(errors.join('; '));
  return { port, token, failOpen, disabled };
}

/** The known variable at the least edit distance from name (the first of them on a tie). */
function closest(name) {
  const distance = (a, b) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    return prev[b.length];
  };
  let best = KNOWN_VARIABLES[0];
  let bestD = Infinity;
  for (const k of KNOWN_VARIABLES) {
    const d = distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

const warnedNames = new Set();

/**
 * Warns (logger.warn), once per process, about every BREAKERBOX_* variable of env that no part of
 * breakerbox reads, naming the closest known one. Returns the names warned about now.
 */
function warnUnknown(env, logger) {
  const now = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('BREAKERBOX_') || KNOWN_VARIABLES.includes(name) || warnedNames.has(name)) continue;
    warnedNames.add(name);
    const best = closest(name);
    logger.warn(`breakerbox: ${name} is not a breakerbox variable and is ignored: did you mean ${best}? (set ${best} instead, or remove ${name})`);
    now.push(name);
  }
  return now;
}

function validateId(circuit) {
  if (typeof circuit !== 'string' || !ID.test(circuit)) {
    throw new InvalidCircuitIdError(`breakerbox: invalid circuit id ${JSON.stringify(circuit)}: want 1-128 characters of A-Z a-z 0-9 . _ : -`);
  }
}

/** The first line of err, at most 120 characters: the error an outcome carries. */
function short(err) {
  const text = (err && (err.message || String(err))) || 'error';
  return text.split('\n')[0].slice(0, 120);
}

module.exports = { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, TOKEN_HEADER, KNOWN_VARIABLES, quote, envChoice, readDisabled, readEnv, closest, warnUnknown, validateId, short };
