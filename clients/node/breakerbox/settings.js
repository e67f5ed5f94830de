'use strict';
// What the client reads from the environment, and the rules its values follow.

const { ConfigError, InvalidCircuitIdError } = require('./errors');

const DEFAULT_PORT = 4243;
const DEFAULT_TIMEOUT_MS = 2000;
const TOKEN_HEADER = 'X-Breakerbox-Token';
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

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

/** The first line of err, at most 120 characters: the error an outcome carries. */
function short(err) {
  const text = (err && (err.message || String(err))) || 'error';
  return text.split('\n')[0].slice(0, 120);
}

module.exports = { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, TOKEN_HEADER, envChoice, validateId, short };
