package lambdaenv

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runtimeShutdownShare is the share of the shutdown time the runtime has to exit after SIGTERM
// before it is SIGKILLed and the extensions get SHUTDOWN with the rest: Lambda shuts the runtime
// down first, then sends SHUTDOWN to each external extension, and SIGKILLs what has not exited at
// the limit (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-shutdown).
// The share is AWS's emulator's (runtimeDeadlineShare, internal/lambda/rapid/shutdown.go of
// github.com/aws/aws-lambda-runtime-interface-emulator): a runtime slow to die never leaves the
// extensions a SHUTDOWN they have no time to act on.
const runtimeShutdownShare = 0.3

// handOverTimeout bounds how long past the SHUTDOWN deadline the emulator waits to hand SHUTDOWN to
// an extension that was waiting for it, should its own goroutines have run late.
const handOverTimeout = 10 * time.Second

// startLocked starts one process of generation g, wired to the sandbox's output and exit handling.
// s.mu must be held (so the exit handler, which takes it, sees the process registered).
func (s *sandbox) startLocked(g *generation, name string, kind processKind, argv, env []string) (*process, error) {
	out := newLineWriter(s.fn.out, fmt.Sprintf("[%s#%d %s] ", s.fn.cfg.Name, s.index, name))
	p, err := startProcess(name, kind, argv, env, s.fn.cfg.Dir, out, func(p *process) { s.handleExit(g, p) })
	if err != nil {
		return nil, err
	}
	s.log.Debug("process started", "process", name, "pid", p.pid)
	return p, nil
}

// handleExit records a process's exit: outside a shutdown it is a failure of the generation, except
// for a runtime that exits after answering (the invoke stands, the sandbox is reset afterwards).
func (s *sandbox) handleExit(g *generation, p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.broadcastLocked()
	if s.gen != g || g.phase == phaseShutdown {
		s.log.Debug("process exited", "process", p.name, "pid", p.pid, "status", p.exitDescription())
		return
	}
	s.log.Warn("process exited unexpectedly", "process", p.name, "pid", p.pid, "status", p.exitDescription(), "phase", g.phase.String())
	switch {
	case p.kind == kindRuntime && g.answeredAll():
		g.reset = true
	case p.kind == kindRuntime:
		g.fail(newInvokeError("Runtime.ExitError", "Runtime exited with error: %s", p.exitDescription()))
	case g.byName[p.name] == nil:
		g.fail(newInvokeError("Extension.Crash", "extension %s exited before registering: %s", p.name, p.exitDescription()))
	default:
		g.fail(newInvokeError("Extension.Crash", "extension %s exited: %s", p.name, p.exitDescription()))
	}
}

// initialize runs Lambda's init phase: start the extensions and wait for them to register, start the
// runtime, then wait for the runtime's first /next and every extension's /event/next.
func (s *sandbox) initialize() *InvokeError {
	cfg := s.fn.cfg
	g := newGeneration()
	deadline := g.started.Add(cfg.InitTimeout)
	var sbEnv []string
	if cfg.SandboxEnv != nil {
		sbEnv = cfg.SandboxEnv(s.index)
	}

	s.mu.Lock()
	s.gen = g
	s.inits++
	for _, path := range cfg.extensions {
		name := filepath.Base(path)
		p, err := s.startLocked(g, name, kindExtension, []string{path}, s.processEnv(kindExtension, sbEnv))
		if err != nil {
			g.fail(newInvokeError("Extension.LaunchError", "extension %s: %v", name, err))
			break
		}
		g.procs = append(g.procs, p)
		g.procByName[name] = p
	}
	s.mu.Unlock()

	if !s.waitUntil(deadline, func() bool { return g.fatal != nil || len(g.unregistered()) == 0 }) {
		s.mu.Lock()
		missing := strings.Join(g.unregistered(), ", ")
		s.mu.Unlock()
		return newInvokeError("Sandbox.Timedout", "init timed out after %s: extension(s) %s did not register", seconds(cfg.InitTimeout), missing)
	}

	s.mu.Lock()
	if g.fatal != nil {
		s.mu.Unlock()
		return g.fatal
	}
	g.phase = phaseRuntimeInit
	p, err := s.startLocked(g, "runtime", kindRuntime, cfg.Command, s.processEnv(kindRuntime, sbEnv))
	if err != nil {
		s.mu.Unlock()
		return newInvokeError("Runtime.InvalidEntrypoint", "%v", err)
	}
	g.runtime = p
	s.broadcastLocked()
	s.mu.Unlock()

	ready := s.waitUntil(deadline, func() bool { return g.fatal != nil || (g.rtWaiters > 0 && g.extensionsReady()) })
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.fatal != nil {
		return g.fatal
	}
	if !ready {
		return newInvokeError("Sandbox.Timedout", "init timed out after %s: waiting for %s", seconds(cfg.InitTimeout), strings.Join(g.notReady(), ", "))
	}
	g.phase = phaseIdle
	g.initDuration = time.Since(g.started)
	s.log.Info("sandbox initialised", "extensions", len(g.extOrder), "initMs", time.Since(g.started).Milliseconds())
	return nil
}

// invoke runs one invoke on the sandbox, initialising it first if it is cold or broken. It always
// returns a Result: platform failures are Unhandled function errors, as in Lambda.
func (s *sandbox) invoke(inv *invocation) Result {
	if s.fn.cfg.managed() {
		return s.invokeManaged(inv)
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()

	if e := s.warm(inv); e != nil {
		return errorResult(inv.id, e)
	}
	s.thaw()

	cfg := s.fn.cfg
	s.mu.Lock()
	g := s.dispatchLocked(inv)
	ev, _ := json.Marshal(InvokeEvent{
		EventType:          EventInvoke,
		DeadlineMs:         inv.deadline.UnixMilli(),
		RequestID:          inv.id,
		InvokedFunctionArn: inv.arn,
		Tracing:            Tracing{Type: "X-Amzn-Trace-Id", Value: inv.trace},
	})
	for _, e := range g.extOrder {
		if e.invoke {
			e.ready = false
			e.queue = append(e.queue, ev)
		}
	}
	s.broadcastLocked()
	s.mu.Unlock()

	done := s.waitUntil(inv.deadline, func() bool { return g.fatal != nil || g.invokeDone(inv, false) })

	s.mu.Lock()
	delete(g.inflight, inv.id)
	g.dequeue(inv)
	fatal, res, reset := g.fatal, inv.result, g.reset
	responded, answeredAt := inv.responded, inv.answered
	if done && fatal == nil {
		g.phase = phaseIdle
		inv.extensionsDone = g.extensionsDoneLocked()
		inv.ended = inv.answered
		if inv.extensionsDone.After(inv.ended) {
			inv.ended = inv.extensionsDone
		}
	}
	if !done && fatal == nil && !inv.responded {
		s.runtimeDoneLocked(g, inv, "timeout")
	}
	s.mu.Unlock()
	switch {
	case fatal != nil:
		res := s.failed(inv, fatal)
		s.shutdown(ShutdownFailure)
		return res
	case !done:
		res := s.timedOut(inv)
		if responded {
			// The runtime answered in time and the extensions held the invoke past its timeout.
			res.RuntimeDuration, res.Duration = answeredAt.Sub(inv.dispatched), time.Since(inv.dispatched)
		}
		s.shutdown(ShutdownTimeout)
		return res
	}
	if cfg.Freeze && !reset {
		s.freeze()
	}
	return answered(inv, res)
}

// shutdown ends the current generation as Lambda does: SIGTERM to the runtime (SIGKILL at the end
// of its share of the shutdown time), then SHUTDOWN (with reason and deadline) to the extensions
// subscribed to it, SIGKILL to every process group still there at the deadline. The sandbox is cold afterwards. s.opMu must be held.
func (s *sandbox) shutdown(reason string) {
	cfg := s.fn.cfg
	s.mu.Lock()
	g := s.gen
	if g == nil {
		s.mu.Unlock()
		return
	}
	g.phase = phaseShutdown
	rt := g.runtime
	all := g.allProcs()
	s.mu.Unlock()
	s.thaw()

	start := time.Now()
	deadline := start.Add(cfg.ShutdownTimeout)
	runtimeKilled := false
	if rt != nil && !rt.exited() {
		rt.signalGroup(syscall.SIGTERM)
		waitAll([]*process{rt}, start.Add(time.Duration(float64(cfg.ShutdownTimeout)*runtimeShutdownShare)))
		if !rt.exited() {
			rt.signalGroup(syscall.SIGKILL) // its share is over: the rest is the extensions'
			runtimeKilled = true
			s.log.Debug("runtime killed at the end of its share of the shutdown time", "process", rt.name)
		}
	}

	s.mu.Lock()
	ev, _ := json.Marshal(ShutdownEvent{EventType: EventShutdown, ShutdownReason: reason, DeadlineMs: deadline.UnixMilli()})
	var waitFor []*process
	if rt != nil {
		waitFor = append(waitFor, rt)
	}
	var parked []*extension // waiting in /event/next: Lambda answers them at once
	for _, e := range g.extOrder {
		if e.shutdown && e.proc != nil && !e.proc.exited() {
			if e.ready {
				parked = append(parked, e)
			}
			e.ready = false
			e.queue = append(e.queue, ev)
			waitFor = append(waitFor, e.proc)
		}
	}
	s.broadcastLocked()
	s.mu.Unlock()
	waitAll(waitFor, deadline)
	// The deadline is the extensions' time, not the emulator's: one that was waiting for its
	// SHUTDOWN is not killed before the emulator has handed it over, however late a loaded machine
	// ran the emulator's own goroutines.
	s.waitUntil(time.Now().Add(handOverTimeout), func() bool {
		for _, e := range parked {
			if (len(e.queue) > 0 || e.sending > 0) && !e.proc.exited() {
				return false
			}
		}
		return true
	})

	var killed []string
	if runtimeKilled {
		killed = append(killed, rt.name)
	}
	for _, p := range all {
		if !p.exited() && (p != rt || !runtimeKilled) {
			killed = append(killed, p.name)
		}
		p.signalGroup(syscall.SIGKILL) // also any children left in an exited process's group
	}
	waitAll(all, time.Now().Add(waitDelay+time.Second))

	s.mu.Lock()
	if s.gen == g {
		s.gen = nil
	}
	close(g.ended)
	s.frozen = false
	s.broadcastLocked()
	s.mu.Unlock()
	s.log.Info("sandbox shut down", "reason", reason, "killed", killed, "shutdownMs", time.Since(start).Milliseconds())
}

// freeze stops every process of the sandbox (SIGSTOP to each process group) and waits, briefly,
// until the kernel reports them stopped.
func (s *sandbox) freeze() {
	s.mu.Lock()
	if s.gen == nil || s.frozen {
		s.mu.Unlock()
		return
	}
	var stopped []*process
	for _, p := range s.gen.allProcs() {
		if !p.exited() {
			p.signalGroup(syscall.SIGSTOP)
			stopped = append(stopped, p)
		}
	}
	s.frozen = true
	s.mu.Unlock()
	deadline := time.Now().Add(time.Second)
	for _, p := range stopped {
		for !p.stopped() && !p.exited() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// thaw continues the sandbox's processes if they are frozen.
func (s *sandbox) thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == nil || !s.frozen {
		return
	}
	for _, p := range s.gen.allProcs() {
		p.signalGroup(syscall.SIGCONT)
	}
	s.frozen = false
}

// killAll SIGKILLs every process group of the sandbox at once, without SHUTDOWN; used when Close's
// context expires while an invoke still holds the sandbox.
func (s *sandbox) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == nil {
		return
	}
	for _, p := range s.gen.allProcs() {
		p.signalGroup(syscall.SIGKILL)
	}
}

// close shuts the sandbox down (reason spindown) once no invoke holds it, and stops its API server.
// If ctx ends first, the processes are killed so the invoke ends quickly.
func (s *sandbox) close(ctx context.Context) {
	stop := context.AfterFunc(ctx, s.killAll)
	s.opMu.Lock()
	// On Lambda Managed Instances invokes run without opMu: let them finish (each ends by its
	// deadline; killAll ends them sooner if ctx expires).
	s.waitUntil(time.Now().Add(s.fn.cfg.Timeout+time.Second), func() bool { return s.running == 0 })
	stop()
	s.shutdown(ShutdownSpindown)
	s.opMu.Unlock()
	_ = s.srv.Close()
}
