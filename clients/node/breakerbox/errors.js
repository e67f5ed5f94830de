'use strict';
// The errors breakerbox throws.

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

module.exports = { BreakerboxError, ConfigError, InvalidCircuitIdError, UnreachableError, ExtensionError, NotFoundError, CallTimeoutError, CircuitOpenError };
