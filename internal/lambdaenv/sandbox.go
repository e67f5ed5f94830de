package lambdaenv

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// phase is where a sandbox generation is in Lambda's lifecycle.
type phase int

const (
	phaseExtensionInit phase = iota // extensions started, waiting for them to register
	phaseRuntimeInit                // runtime started, waiting for everyone's first "next"
	phaseIdle                       // initialised, between invokes
	phaseInvoke                     // an invoke is in progress
	phaseShutdown                   // SHUTDOWN in progress
)

func (p phase) String() string {
	switch p {
	case phaseExtensionInit, phaseRuntimeInit:
		return "initializing"
	case phaseIdle:
		return "idle"
	case phaseInvoke:
		return "invoking"
	default:
		return "shutting-down"
	}
}

// extension is a registered extension of one sandbox generation.
type extension struct {
	id, name         string
	internal         bool      // registered by a name that is not one of the launched executables
	invoke, shutdown bool      // subscribed events
	proc             *process  // nil for an internal extension
	ready            bool      // called /event/next since its last event: owes nothing
	readyAt          time.Time // when it last called /event/next
	queue            [][]byte  // events not picked up yet
	sending          int       // events picked up whose answer is still being written
}

// invocation is one invoke, from dispatch to answer.
type invocation struct {
	id, arn, trace string
	payload        []byte
	deadline       time.Time
	dispatched     time.Time // when it was handed to the runtime and the extensions
	pickedUp       time.Time // when the runtime received it
	answered       time.Time // when the runtime answered
	responded      bool
	initDuration   time.Duration // the init it waited for, if it was the first after one
	extensionsDone time.Time     // when the last INVOKE extension called /event/next after it
	ended          time.Time     // when it completed (runtime and extensions done)
	timedOut       bool          // failed as timed out; a late answer is taken and dropped
	result         Result
}

// generation is the state of one initialisation of a sandbox: its processes and their API state.
// A reset ends the generation; the next invoke starts a new one. Guarded by sandbox.mu.
type generation struct {
	phase      phase
	started    time.Time
	runtime    *process
	rtWaiters  int                    // runtime /next calls blocked right now
	pending    []*invocation          // dispatched, not yet picked up by the runtime, oldest first
	current    map[string]*invocation // picked up by the runtime, not yet answered
	inflight   map[string]*invocation // dispatched, not yet complete
	subs       map[string]*subscriber // Telemetry API subscriptions, by extension id
	ended      chan struct{}          // closed when the generation is shut down
	exts       map[string]*extension
	byName     map[string]*extension
	extOrder   []*extension
	procs      []*process // extension processes, in start order
	procByName map[string]*process
	fatal      *InvokeError // the first failure; the generation must be reset
	reset      bool         // reset before the next invoke (the runtime exited after answering)
	// initDuration is how long the init took; initReported is set once an invocation carries it.
	initDuration time.Duration
	initReported bool
}

func newGeneration() *generation {
	return &generation{
		phase:      phaseExtensionInit,
		started:    time.Now(),
		exts:       map[string]*extension{},
		byName:     map[string]*extension{},
		procByName: map[string]*process{},
		current:    map[string]*invocation{},
		inflight:   map[string]*invocation{},
		subs:       map[string]*subscriber{},
		ended:      make(chan struct{}),
	}
}

// answeredAll reports whether an invoke is in flight and the runtime has answered every one.
func (g *generation) answeredAll() bool {
	for _, inv := range g.inflight {
		if !inv.responded {
			return false
		}
	}
	return len(g.inflight) > 0
}

// dequeue removes inv from the invocations not picked up yet, if it is there.
func (g *generation) dequeue(inv *invocation) {
	for i, p := range g.pending {
		if p == inv {
			g.pending = append(g.pending[:i:i], g.pending[i+1:]...)
			return
		}
	}
}

// fail records the generation's first fatal error.
func (g *generation) fail(e *InvokeError) {
	if g.fatal == nil {
		g.fatal = e
	}
}

// unregistered lists the launched extensions that have not registered.
func (g *generation) unregistered() []string {
	var out []string
	for _, p := range g.procs {
		if g.byName[p.name] == nil {
			out = append(out, p.name)
		}
	}
	return out
}

// notReady lists who init is still waiting for once the runtime has started.
func (g *generation) notReady() []string {
	var out []string
	if g.rtWaiters == 0 {
		out = append(out, "the runtime's first /next")
	}
	for _, e := range g.extOrder {
		if !e.ready {
			out = append(out, "extension "+e.name+"'s /event/next")
		}
	}
	return out
}

// extensionsReady reports whether every registered extension is waiting for its next event.
func (g *generation) extensionsReady() bool {
	for _, e := range g.extOrder {
		if !e.ready {
			return false
		}
	}
	return true
}

// invokeDone reports whether inv is complete: the runtime answered and is back in /next (or gone),
// and every extension subscribed to INVOKE has asked for its next event (or is gone). On Lambda
// Managed Instances the answer alone completes it: other invocations may hold the runtime's other
// workers, and no extension follows INVOKE.
func (g *generation) invokeDone(inv *invocation, managed bool) bool {
	if managed {
		return inv.responded
	}
	if !inv.responded || (g.rtWaiters == 0 && !g.runtime.exited()) {
		return false
	}
	for _, e := range g.extOrder {
		if e.invoke && !e.ready && (e.proc == nil || !e.proc.exited()) {
			return false
		}
	}
	return true
}

// allProcs is every process of the generation, runtime first.
func (g *generation) allProcs() []*process {
	out := make([]*process, 0, len(g.procs)+1)
	if g.runtime != nil {
		out = append(out, g.runtime)
	}
	return append(out, g.procs...)
}

// sandbox is one execution environment of a function: a loopback port serving the Runtime and
// Extensions APIs, and (once initialised) a runtime process and its extension processes.
type sandbox struct {
	fn    *Function
	index int
	addr  string
	srv   *http.Server
	log   *slog.Logger
	// active counts the invokes holding this sandbox (at most 1, or ManagedConcurrency); guarded by
	// fn.mu.
	active int

	opMu sync.Mutex // serialises init, invoke and shutdown

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change
	gen     *generation   // nil while cold
	frozen  bool
	running int // invokes in flight on Lambda Managed Instances (they do not hold opMu)
	inits   int
	invokes int
	peakMB  int // the highest Max Memory Used reported
}

// newSandbox opens the sandbox's API port and starts serving it.
func newSandbox(fn *Function, index int) (*sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: function %s: listen for sandbox %d: %w", fn.cfg.Name, index, err)
	}
	s := &sandbox{
		fn:      fn,
		index:   index,
		addr:    ln.Addr().String(),
		changed: make(chan struct{}),
	}
	s.log = fn.log.With("sandbox", index, "runtimeAPI", s.addr)
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// routes maps the Runtime API and Extensions API paths to their handlers.
func (s *sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.runtimeNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.runtimeResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.runtimeError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.runtimeInitError)
	mux.HandleFunc("POST /2020-01-01/extension/register", s.extensionRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", s.extensionNext)
	mux.HandleFunc("POST /2020-01-01/extension/init/error", s.extensionInitError)
	mux.HandleFunc("POST /2020-01-01/extension/exit/error", s.extensionExitError)
	mux.HandleFunc("PUT /2022-07-01/telemetry", s.telemetrySubscribe)
	mux.HandleFunc("PUT /2022-07-01/telemetry/", s.telemetrySubscribe)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, errNotFound, "no such Runtime or Extensions API endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

// broadcastLocked wakes everyone waiting for a state change. s.mu must be held.
func (s *sandbox) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil waits until cond (evaluated with s.mu held) is true or the deadline passes, and
// reports whether cond became true.
func (s *sandbox) waitUntil(deadline time.Time, cond func() bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return true
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			s.mu.Lock()
			ok := cond()
			s.mu.Unlock()
			return ok
		}
	}
}

// processEnv is the environment of the sandbox's processes: the function's, the sandbox's, then
// Lambda's reserved variables (the last value of a key wins). On Lambda Managed Instances both the
// runtime and the extensions see AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances, and the
// runtime AWS_LAMBDA_MAX_CONCURRENCY, the number of invocations it may take at once
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html).
// sandboxEnv is SandboxEnv's answer, asked once per initialisation so that every process sees the
// same values.
func (s *sandbox) processEnv(kind processKind, sandboxEnv []string) []string {
	cfg := s.fn.cfg
	env := append(append([]string(nil), cfg.Env...), sandboxEnv...)
	region := s.fn.env.cfg.Region
	now := time.Now().UTC()
	initType := "on-demand"
	if cfg.managed() {
		initType = InitTypeManagedInstances
		if kind == kindRuntime {
			env = append(env, "AWS_LAMBDA_MAX_CONCURRENCY="+strconv.Itoa(cfg.ManagedConcurrency))
		}
	}
	return append(env,
		"AWS_LAMBDA_RUNTIME_API="+s.addr,
		"AWS_LAMBDA_FUNCTION_NAME="+cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_INITIALIZATION_TYPE="+initType,
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+cfg.Name,
		fmt.Sprintf("AWS_LAMBDA_LOG_STREAM_NAME=%s/[$LATEST]%s", now.Format("2006/01/02"), newUUID()[:8]),
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
		"_HANDLER="+cfg.Handler,
	)
}

// SandboxInfo describes one sandbox of a function at the moment Function.Sandboxes was called.
type SandboxInfo struct {
	// Index is the sandbox's number within its function (0, 1, ...), as SandboxEnv sees it.
	Index int
	// RuntimeAPI is the host:port of the sandbox's Runtime and Extensions APIs.
	RuntimeAPI string
	// State is "cold", "initializing", "idle", "invoking" or "shutting-down".
	State string
	// Busy is true while an invoke holds the sandbox.
	Busy bool
	// Frozen is true while the processes are stopped between invokes.
	Frozen bool
	// RuntimePID is the runtime's process id (0 when none is running).
	RuntimePID int
	// Extensions are the launched extension processes.
	Extensions []ExtensionInfo
	// Inits and Invokes count initialisations and invokes over the sandbox's life.
	Inits, Invokes int
}

// ExtensionInfo describes one launched extension process.
type ExtensionInfo struct {
	Name       string   // the executable's file name
	PID        int      // 0 when not running
	Registered bool     // has called /register in the current initialisation
	Events     []string // the events it registered for
	// Ready is true once it has called /event/next since its last event: it has finished its work
	// for the invocation in progress, whose end no longer waits for it ("the runtime and each
	// extension indicate completion by sending a Next API request",
	// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-invoke).
	Ready bool
}

// info reports the sandbox's state.
func (s *sandbox) info(busy bool) SandboxInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := SandboxInfo{Index: s.index, RuntimeAPI: s.addr, State: "cold", Busy: busy, Frozen: s.frozen, Inits: s.inits, Invokes: s.invokes}
	g := s.gen
	if g == nil {
		return in
	}
	in.State = g.phase.String()
	if g.runtime != nil && !g.runtime.exited() {
		in.RuntimePID = g.runtime.pid
	}
	for _, p := range g.procs {
		ei := ExtensionInfo{Name: p.name}
		if !p.exited() {
			ei.PID = p.pid
		}
		if e := g.byName[p.name]; e != nil {
			ei.Registered, ei.Ready = true, e.ready
			if e.invoke {
				ei.Events = append(ei.Events, EventInvoke)
			}
			if e.shutdown {
				ei.Events = append(ei.Events, EventShutdown)
			}
		}
		in.Extensions = append(in.Extensions, ei)
	}
	return in
}
