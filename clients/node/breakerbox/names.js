'use strict';
// The BREAKERBOX_* variables breakerbox knows, and the warning about one it does not.

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
  'BREAKERBOX_RECENT_SPAN',
  'BREAKERBOX_SLOW_CALL',
  'BREAKERBOX_SLOW_CALL_RATE',
  'BREAKERBOX_STALE_TTL',
  'BREAKERBOX_STORE_TIMEOUT',
  'BREAKERBOX_SUCCESS_THRESHOLD',
  'BREAKERBOX_TABLE',
  'BREAKERBOX_WINDOW',
]);

/** The Levenshtein distance between a and b: the fewest edits of one character that turn a into b. */
function distance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known variable at the least edit distance from name (the first of them on a tie). */
function closest(name) {
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

module.exports = { KNOWN_VARIABLES, closest, distance, warnUnknown };
