'use strict';
// What the client reads from the environment, and the rules its values follow (the extension's).

const { ConfigError, InvalidCircuitIdError } = require('./errors');

const DEFAULT_PORT = 4243;
const DEFAULT_TIMEOUT_MS = 2000;
const TOKEN_HEADER = 'X-Breakerbox-Token';
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
 * extension would refuse at init is refused here too. Returns the settings and the problem of each
 * bad field (port, token, failOpen, disabled), so that a client whose option sets a field is not
 * failed by its variable.
 */
function readEnvFields(env) {
  const errors = {};
  const attempt = (field, fn, fallback) => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors[field] = err.message;
      return fallback;
    }
  };
  const port = attempt('port', () => {
    const raw = String(env.BREAKERBOX_PORT ?? '').trim();
    if (raw === '') return DEFAULT_PORT;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
      throw new ConfigError(`BREAKERBOX_PORT=${quote(raw)} is not valid: want the extension's TCP port, 1 to 65535 (default ${DEFAULT_PORT})`);
    }
    return Number(raw);
  }, DEFAULT_PORT);
  const token = attempt('token', () => {
    const session = String(env.AWS_SESSION_TOKEN ?? '').trim();
    const auth = envChoice(env, 'BREAKERBOX_AUTH', ['token', 'none'], '', 'token or none');
    if (auth === 'none') return '';
    if (auth === 'token' && session === '') throw new ConfigError('BREAKERBOX_AUTH="token" needs AWS_SESSION_TOKEN, which is not set (use none for local work)');
    return session;
  }, '');
  const failOpen = attempt(
    'failOpen',
    () => envChoice(env, 'BREAKERBOX_FAIL_MODE', ['open', 'closed'], 'open', 'open (allow calls when the extension cannot answer) or closed (deny them)') === 'open',
    true,
  );
  const disabled = attempt('disabled', () => readDisabled(env), false);
  return { settings: { port, token, failOpen, disabled }, errors };
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

module.exports = { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, TOKEN_HEADER, quote, envChoice, readDisabled, readEnvFields, validateId, short };
