// ESM entry of breakerbox: the same module as index.js (one implementation), with named exports.
import cjs from './index.js';

export const {
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  TOKEN_HEADER,
  KNOWN_VARIABLES,
  Breakerbox,
  Client,
  CircuitBreaker,
  circuitBreaker,
  middleware,
  defaultClient,
  setDefaultClient,
  FakeExtension,
  BreakerboxError,
  ConfigError,
  InvalidCircuitIdError,
  UnreachableError,
  ExtensionError,
  NotFoundError,
  CallTimeoutError,
  CircuitOpenError,
} = cjs;
export default cjs;
