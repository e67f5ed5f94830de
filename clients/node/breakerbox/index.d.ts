// Types of breakerbox, the Node.js client of the breakerbox Lambda extension.

/** The extension's port when BREAKERBOX_PORT is not set. */
export declare const DEFAULT_PORT: 4243;
/** Milliseconds each request to the extension may take, by default. */
export declare const DEFAULT_TIMEOUT_MS: 2000;
/** The header that carries AWS_SESSION_TOKEN to the extension. */
export declare const TOKEN_HEADER: 'X-Breakerbox-Token';

/** Every BREAKERBOX_* variable some part of breakerbox reads; the others are warned about. */
export declare const KNOWN_VARIABLES: readonly string[];

/** A circuit's state as the extension reports it. */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** The extension's view of a circuit (GET /v1/circuits/{id}). */
export interface Circuit {
  id: string;
  state: CircuitState;
  /** Whether a call without a permit may go out now. */
  allowed: boolean;
  since: string;
  /** When an OPEN circuit may go HALF_OPEN (RFC 3339), or ''. */
  retryAt: string;
  reason: string;
  version: number;
  /** FORCED_OPEN or FORCED_CLOSED when an operator set one, or ''. */
  override: string;
  /** True when the extension could not read DynamoDB and this is its last good copy. */
  stale: boolean;
  ageMs: number;
}

/** The answer to acquire: may a call go out now? */
export interface Decision {
  allowed: boolean;
  /** The circuit's state; UNKNOWN for a circuit the extension does not know (or could not ask); DISABLED with BREAKERBOX_DISABLED=true. */
  state: CircuitState | 'UNKNOWN' | 'DISABLED';
  /** Set when this caller holds a half-open probe permit: report it back with the outcome. */
  permit: string;
  /**
   * The name of an allowed call: report it back with the outcome (Outcome.call), so the extension
   * knows which call ended. Until then it knows the call is under way, and counts it as slow as soon
   * as it has run longer than the slow-call threshold. Empty when denied, and for acquire(id, {call: false}).
   */
  call: string;
  retryAt: string;
  override: string;
  stale: boolean;
  reason: string;
  /** True when the extension gave no usable answer; allowed then follows the fail mode. */
  unreachable: boolean;
}

/** The options of acquire. */
export interface AcquireOptions {
  /**
   * false for a batch of calls made under this one answer and reported together (the Go client's
   * AcquireBatch): the extension names no call (Decision.call is ''), so none counts as slow before
   * its outcome comes back. Default true: the extension names the call.
   */
  call?: boolean;
}

/** How one call went. */
export interface Outcome {
  ok: boolean;
  latencyMs: number;
  /** The half-open permit the call was made under (Decision.permit). */
  permit?: string;
  /** The call's name from acquire (Decision.call); without it the extension matches the outcome to the call under way whose start is nearest to (now - latencyMs). */
  call?: string;
  /** A failure in a few words ("timeout", "status 503"). */
  error?: string;
}

/** A change of a circuit's state as this process saw it (two answers of the extension in a row). */
export interface Transition {
  circuit: string;
  from: string;
  to: string;
  reason: string;
}

export type TransitionHook = (t: Transition) => void;

export interface ClientOptions {
  /** Default: BREAKERBOX_PORT, else 4243. */
  port?: number;
  host?: string;
  /** Default: AWS_SESSION_TOKEN, or none when BREAKERBOX_AUTH=none. */
  token?: string;
  /** Default: BREAKERBOX_FAIL_MODE (open unless it says closed). */
  failOpen?: boolean;
  /** Default: BREAKERBOX_DISABLED=true, read at every call. */
  disabled?: boolean;
  /** Milliseconds each request to the extension may take (default 2000). */
  timeout?: number;
  onTransition?: TransitionHook;
  /** Where the variables are read (default process.env). */
  env?: Record<string, string | undefined>;
  /** Where warnings go (default console): that the extension cannot be reached, that a variable is unknown. */
  logger?: { warn(message: string): void; info?(message: string): void };
}

export interface CallOptions<A extends unknown[], R> {
  /** Gives the result when the circuit denies the call, with the call's arguments and the error. */
  fallback?: (...args: [...A, CircuitOpenError]) => R | Promise<R>;
  /** Milliseconds after which the call rejects with CallTimeoutError and counts as a failure. */
  timeout?: number;
  /** Whether an error of the call counts against the circuit (default: every error). */
  isFailure?: (err: unknown) => boolean;
}

export interface MiddlewareOptions<E = any, R = any> {
  /** The response when the circuit denies the call (default: throw the CircuitOpenError). */
  fallback?: (event: E, err: CircuitOpenError, context: any) => R | Promise<R>;
  isFailure?: (err: unknown) => boolean;
}

/** The request object Middy hands to a middleware. */
export interface MiddyRequest<E = any, R = any> {
  event: E;
  context: any;
  response?: R;
  error?: unknown;
}

/** A Middy-compatible middleware. */
export interface MiddlewareObj<E = any, R = any> {
  before: (request: MiddyRequest<E, R>) => Promise<R | undefined>;
  after: (request: MiddyRequest<E, R>) => Promise<void>;
  onError: (request: MiddyRequest<E, R>) => Promise<void>;
}

/** Talks to the extension. Create one per process (or use defaultClient()). */
export declare class Breakerbox {
  constructor(options?: ClientOptions);
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly failOpen: boolean;
  /** The `disabled` option, else BREAKERBOX_DISABLED as it is now. */
  disabled: boolean;
  timeout: number;
  /** Calls decided without the extension's answer (by the fail mode): above zero, the breaker is off. */
  readonly unreachableCalls: number;
  /** Closes the kept-alive connections to the extension. */
  close(): void;
  onTransition(hook: TransitionHook): this;
  state(circuit: string): Promise<Circuit>;
  acquire(circuit: string, options?: AcquireOptions): Promise<Decision>;
  report(circuit: string, ...outcomes: Outcome[]): Promise<void>;
  /** The call decision allowed was not made, or was cancelled: it counts nothing, and a probe's permit is given back. */
  cancel(circuit: string, decision: Decision): Promise<void>;
  call<A extends unknown[], R>(circuit: string, fn: (...args: A) => R | Promise<R>, options?: CallOptions<A, R>, ...args: A): Promise<R>;
  wrap<A extends unknown[], R>(circuit: string, fn: (...args: A) => R | Promise<R>, options?: CallOptions<A, R>): (...args: A) => Promise<R>;
  middleware<E = any, R = any>(circuit: string, options?: MiddlewareOptions<E, R>): MiddlewareObj<E, R>;
}
export { Breakerbox as Client };

export interface CircuitBreakerOptions<A extends unknown[], R> extends CallOptions<A, R> {
  client?: Breakerbox;
  onTransition?: TransitionHook;
  /** The limit on each call, in milliseconds (in the (fn, options) shape, timeout is refused: it is circuitbreaker-lambda's time OPEN). */
  callTimeout?: number;
  /** Refused with the breakerctl command that sets it: a circuit's thresholds are its policy. */
  failureThreshold?: never;
  /** Refused with the breakerctl command that sets it. */
  successThreshold?: never;
}

export interface PeerCircuitBreakerOptions<A extends unknown[], R> extends Omit<CircuitBreakerOptions<A, R>, 'timeout'> {
  /** The circuit (default AWS_LAMBDA_FUNCTION_NAME, as circuitbreaker-lambda). circuit and name are accepted too. */
  circuitId?: string;
  circuit?: string;
  name?: string;
}

/** circuitbreaker-lambda's shape: new CircuitBreaker(fn, options) or new CircuitBreaker(id, fn, options), then .fire(...args). */
export declare class CircuitBreaker<A extends unknown[] = any[], R = any> {
  constructor(fn: (...args: A) => R | Promise<R>, options?: PeerCircuitBreakerOptions<A, R>);
  constructor(circuit: string, fn: (...args: A) => R | Promise<R>, options?: CircuitBreakerOptions<A, R>);
  readonly circuit: string;
  fire(...args: A): Promise<R>;
}

export declare function circuitBreaker<A extends unknown[], R>(circuit: string, fn: (...args: A) => R | Promise<R>, options?: CircuitBreakerOptions<A, R>): (...args: A) => Promise<R>;
export declare function middleware<E = any, R = any>(options: MiddlewareOptions<E, R> & { circuit: string; client?: Breakerbox }): MiddlewareObj<E, R>;
export declare function defaultClient(): Breakerbox;
/** Replaces the process's shared client (null: made again on next use); returns the one replaced. */
export declare function setDefaultClient(client: Breakerbox | null): Breakerbox | null;

/** One request a FakeExtension answered. */
export interface FakeCall {
  op: 'acquire' | 'report' | 'cancel' | 'state';
  circuit: string;
  allowed?: boolean;
  /** The call name an allowed acquire handed out ('call-1', 'call-2', ...); '' when it asked for none ({call: false}, a batch); for a cancel, the call cancelled. */
  name?: string;
  outcomes?: Outcome[];
}

/** An in-memory extension for tests: force a circuit OPEN or CLOSED, read the calls. */
export declare class FakeExtension {
  constructor();
  client(options?: ClientOptions): Breakerbox;
  /** Makes a client of this fake the default client; returns a function that restores the previous one. */
  install(options?: ClientOptions): () => void;
  forceOpen(circuit: string): void;
  forceClosed(circuit: string): void;
  setUnreachable(down?: boolean): void;
  readonly calls: FakeCall[];
  outcomes(circuit: string): Outcome[];
  reset(): void;
}

export declare class BreakerboxError extends Error {}
export declare class ConfigError extends BreakerboxError {}
export declare class InvalidCircuitIdError extends BreakerboxError {}
export declare class UnreachableError extends BreakerboxError {}
export declare class ExtensionError extends UnreachableError {
  constructor(status: number, code: string, message: string);
  readonly status: number;
  readonly code: string;
  readonly detail: string;
}
export declare class NotFoundError extends ExtensionError {}
export declare class CallTimeoutError extends BreakerboxError {
  constructor(ms: number);
  readonly code: 'BREAKERBOX_TIMEOUT';
}
export declare class CircuitOpenError extends BreakerboxError {
  constructor(circuit: string, decision: Decision, cause?: unknown);
  readonly circuit: string;
  readonly decision: Decision;
}

declare const breakerbox: {
  DEFAULT_PORT: typeof DEFAULT_PORT;
  DEFAULT_TIMEOUT_MS: typeof DEFAULT_TIMEOUT_MS;
  TOKEN_HEADER: typeof TOKEN_HEADER;
  KNOWN_VARIABLES: typeof KNOWN_VARIABLES;
  Breakerbox: typeof Breakerbox;
  Client: typeof Breakerbox;
  CircuitBreaker: typeof CircuitBreaker;
  circuitBreaker: typeof circuitBreaker;
  middleware: typeof middleware;
  defaultClient: typeof defaultClient;
  setDefaultClient: typeof setDefaultClient;
  FakeExtension: typeof FakeExtension;
  BreakerboxError: typeof BreakerboxError;
  ConfigError: typeof ConfigError;
  InvalidCircuitIdError: typeof InvalidCircuitIdError;
  UnreachableError: typeof UnreachableError;
  ExtensionError: typeof ExtensionError;
  NotFoundError: typeof NotFoundError;
  CallTimeoutError: typeof CallTimeoutError;
  CircuitOpenError: typeof CircuitOpenError;
};
export default breakerbox;
