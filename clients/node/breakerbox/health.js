'use strict';
// Whether this process can reach the extension, and the warning that says when it cannot.

const down = new Map(); // "host:port" → true while the extension gives no answer

/**
 * Records that the extension at where gave no answer, and warns (logger.warn) when it was not
 * already known to be down: once per process, and again after it came back and went away.
 */
function unreachable(where, failOpen, err, logger) {
  if (down.get(where)) return;
  down.set(where, true);
  const what = failOpen
    ? 'calls go out WITHOUT circuit-breaker protection (BREAKERBOX_FAIL_MODE=open)'
    : 'calls are DENIED (BREAKERBOX_FAIL_MODE=closed)';
  logger.warn(
    `breakerbox: the extension gave no answer at ${where} (${err.message}): ${what}. Check that the breakerbox layer is attached ` +
      "to the function, that BREAKERBOX_PORT matches the extension's, and the extension's own log lines (it logs why it stopped). " +
      'client.unreachableCalls counts these calls; this warning is logged again only if the extension comes back and goes away.',
  );
}

/** Records an answer of the extension at where, and says so (logger.info) when it was down. */
function reachable(where, logger) {
  if (!down.get(where)) return;
  down.set(where, false);
  (logger.info ?? logger.warn).call(logger, `breakerbox: the extension answers again at ${where}: calls are protected again`);
}

module.exports = { unreachable, reachable };
