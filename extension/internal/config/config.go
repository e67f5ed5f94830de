package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
)

// Defaults of the design contract.
const (
	DefaultPort          = 4243
	DefaultCacheTTL      = 5 * time.Second
	DefaultCacheSize     = 1024
	DefaultStaleTTL      = 10 * time.Minute
	DefaultStoreTimeout  = 500 * time.Millisecond
	DefaultFlushInterval = time.Second
	// DefaultPublishTimeout bounds one PutEvents call.
	DefaultPublishTimeout = 2 * time.Second
	DefaultCounterShards  = 4
	// MaxCounterShards keeps a window read (shards × circuit.Buckets keys) within one BatchGetItem.
	MaxCounterShards = 100 / circuit.Buckets
	// MinFlushInterval keeps the background flusher from spinning.
	MinFlushInterval = 10 * time.Millisecond
)

// FailMode decides what callers are told about a circuit that is unknown, or unreadable with no
// stale copy.
type FailMode string

// The two fail modes.
const (
	FailOpen   FailMode = "open"   // allow the call
	FailClosed FailMode = "closed" // deny the call
)

// Allows reports whether the fail mode lets calls through.
func (m FailMode) Allows() bool { return m != FailClosed }

// Config is the extension's validated configuration.
type Config struct {
	// Table is the DynamoDB table (BREAKERBOX_TABLE), required.
	Table string
	// Port is the localhost port of the HTTP API (BREAKERBOX_PORT).
	Port int
	// CacheTTL is how long a circuit read from DynamoDB is served before it is read again.
	CacheTTL time.Duration
	// CacheSize is the most circuits kept.
	CacheSize int
	// StaleTTL is how long after its read a copy may still be served, marked stale, while DynamoDB
	// cannot be read. Zero never serves a stale copy.
	StaleTTL time.Duration
	// StoreTimeout bounds every DynamoDB call.
	StoreTimeout time.Duration
	// FailMode applies to unknown circuits and unreadable ones with no stale copy.
	FailMode FailMode
	// Circuits are prefetched before registering.
	Circuits []string
	// Token, when not empty, must be sent in X-Breakerbox-Token by every caller but /healthz.
	Token string
	// FlushInterval is the most often outcomes are flushed to DynamoDB.
	FlushInterval time.Duration
	// ManagedInstances is true on Lambda Managed Instances (AWS_LAMBDA_INITIALIZATION_TYPE is
	// lambda-managed-instances): one environment serves many invocations at once, is never frozen,
	// and an extension may register for SHUTDOWN only.
	ManagedInstances bool
	// CounterShards is the number of window counter shards (1..MaxCounterShards).
	CounterShards int
	// Policy is the environment's circuit policy; a circuit's own policy map applies over it.
	Policy circuit.Policy
	// LogLevel is the level of the structured logs (BREAKERBOX_LOG_LEVEL, default info).
	LogLevel slog.Level
	// EventBus is the EventBridge bus for the Circuit State Change events of the transitions this
	// environment makes (BREAKERBOX_EVENT_BUS, default "default").
	EventBus string
	// PublishTimeout bounds one PutEvents call (BREAKERBOX_PUBLISH_TIMEOUT, default 2s).
	PublishTimeout time.Duration
}

// Load reads the configuration through getenv (os.Getenv in main). The error joins every problem.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Table:          r.str("BREAKERBOX_TABLE"),
		Port:           r.intIn("BREAKERBOX_PORT", DefaultPort, 1, 65535, "a TCP port number from 1 to 65535"),
		CacheTTL:       r.duration("BREAKERBOX_CACHE_TTL", DefaultCacheTTL, time.Millisecond),
		CacheSize:      r.intIn("BREAKERBOX_CACHE_SIZE", DefaultCacheSize, 1, 1<<24, "a number of circuits of at least 1"),
		StaleTTL:       r.duration("BREAKERBOX_STALE_TTL", DefaultStaleTTL, 0),
		StoreTimeout:   r.duration("BREAKERBOX_STORE_TIMEOUT", DefaultStoreTimeout, time.Millisecond),
		FlushInterval:  r.duration("BREAKERBOX_FLUSH_INTERVAL", DefaultFlushInterval, MinFlushInterval),
		CounterShards:  r.intIn("BREAKERBOX_COUNTER_SHARDS", DefaultCounterShards, 1, MaxCounterShards, fmt.Sprintf("a number of shards from 1 to %d", MaxCounterShards)),
		FailMode:       r.failMode("BREAKERBOX_FAIL_MODE"),
		Circuits:       r.circuits("BREAKERBOX_CIRCUITS"),
		Token:          r.token(),
		LogLevel:       r.logLevel("BREAKERBOX_LOG_LEVEL"),
		EventBus:       r.str("BREAKERBOX_EVENT_BUS"),
		PublishTimeout: r.duration("BREAKERBOX_PUBLISH_TIMEOUT", DefaultPublishTimeout, time.Millisecond),
	}
	if c.EventBus == "" {
		c.EventBus = events.DefaultBus
	}
	if c.Table == "" {
		r.fail("BREAKERBOX_TABLE", "", "is required: the name of the breakerbox DynamoDB table")
	}
	p, err := circuit.PolicyFromEnv(circuit.DefaultPolicy(), getenv)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	c.Policy = p
	c.ManagedInstances = managedInstances(r.str)
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// reader reads variables and collects the problems.
type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *reader) fail(name, value, msg string) {
	if value == "" {
		r.errs = append(r.errs, fmt.Errorf("%s %s", name, msg))
		return
	}
	r.errs = append(r.errs, fmt.Errorf("%s=%q %s", name, value, msg))
}

func (r *reader) intIn(name string, def, lo, hi int, want string) int {
	v := r.str(name)
	if v == "" {
		return def
	}
	// Digits only, as the Python and Node clients read the same variables: Atoi alone would also
	// take "+4243", which the clients refuse, so the extension and its clients could disagree.
	n, err := strconv.Atoi(v)
	if err != nil || strings.TrimLeft(v, "0123456789") != "" || n < lo || n > hi {
		r.fail(name, v, "is not valid: want "+want)
		return def
	}
	return n
}

func (r *reader) duration(name string, def, lo time.Duration) time.Duration {
	v := r.str(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		r.fail(name, v, "is not a duration: write it as Go does, e.g. 5s, 500ms or 10m")
	case d < lo || (lo == 0 && d < 0):
		if lo == 0 {
			r.fail(name, v, "must not be negative")
		} else {
			r.fail(name, v, "is too short: want at least "+lo.String())
		}
	default:
		return d
	}
	return def
}

func (r *reader) failMode(name string) FailMode {
	switch v := strings.ToLower(r.str(name)); v {
	case "", string(FailOpen):
		return FailOpen
	case string(FailClosed):
		return FailClosed
	default:
		r.fail(name, r.str(name), "is not valid: want open (allow calls) or closed (deny calls)")
		return FailOpen
	}
}

func (r *reader) circuits(name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range strings.Split(r.getenv(name), ",") {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		if err := circuit.ValidateID(id); err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// token decides authentication from BREAKERBOX_AUTH and AWS_SESSION_TOKEN.
func (r *reader) token() string {
	session := r.str("AWS_SESSION_TOKEN")
	switch v := strings.ToLower(r.str("BREAKERBOX_AUTH")); v {
	case "":
		return session
	case "none":
		return ""
	case "token":
		if session == "" {
			r.fail("BREAKERBOX_AUTH", v, "needs AWS_SESSION_TOKEN, which is not set (use none for local work)")
		}
		return session
	default:
		r.fail("BREAKERBOX_AUTH", r.str("BREAKERBOX_AUTH"), "is not valid: want token or none")
		return session
	}
}

func (r *reader) logLevel(name string) slog.Level {
	v := r.str(name)
	if v == "" {
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, v, "is not valid: want debug, info, warn or error")
		return slog.LevelInfo
	}
	return l
}
