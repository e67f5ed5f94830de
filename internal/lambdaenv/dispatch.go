package lambdaenv

import "time"

// The steps of an invoke that the on-demand model (invoke) and the Managed Instances model
// (invokeManaged) share: what differs between them is freezing, INVOKE events and what a timeout or
// a crash does to the other invocations in flight.

// warm resets a broken sandbox (a crash or a reset left in its generation) and initialises a cold
// one. If init fails the sandbox is shut down and the init error returned. s.opMu must be held.
func (s *sandbox) warm(inv *invocation) *InvokeError {
	s.mu.Lock()
	broken := s.gen != nil && (s.gen.fatal != nil || s.gen.reset)
	s.mu.Unlock()
	if broken {
		s.shutdown(ShutdownFailure)
	}
	s.mu.Lock()
	cold := s.gen == nil
	s.mu.Unlock()
	if cold {
		if e := s.initialize(); e != nil {
			s.log.Warn("init failed", "requestId", inv.id, "errorType", e.Type, "error", e.Message)
			s.shutdown(ShutdownFailure)
			return e
		}
	}
	return nil
}

// dispatchLocked hands inv to the current generation, for the runtime to take next; its deadline
// (the function's timeout) starts now. s.mu must be held and the sandbox warm.
func (s *sandbox) dispatchLocked(inv *invocation) *generation {
	g := s.gen
	s.invokes++
	inv.deadline = time.Now().Add(s.fn.cfg.Timeout)
	g.phase = phaseInvoke
	g.inflight[inv.id] = inv
	g.pending = append(g.pending, inv)
	inv.dispatched = time.Now()
	if !g.initReported {
		inv.initDuration, g.initReported = g.initDuration, true
	}
	return g
}

// failed is the Result of an invoke ended by a crash of the runtime or an extension.
func (s *sandbox) failed(inv *invocation, fatal *InvokeError) Result {
	s.log.Warn("invoke failed", "requestId", inv.id, "errorType", fatal.Type, "error", fatal.Message)
	return errorResult(inv.id, fatal)
}

// timedOut is the Result of an invoke that ran past the function's timeout.
func (s *sandbox) timedOut(inv *invocation) Result {
	timeout := s.fn.cfg.Timeout
	s.log.Warn("invoke timed out", "requestId", inv.id, "timeout", timeout.String())
	return errorResult(inv.id, newInvokeError("Sandbox.Timedout", "Task timed out after %s", seconds(timeout)))
}

// answered completes the runtime's answer res to inv with its request id and durations.
func answered(inv *invocation, res Result) Result {
	res.RuntimeDuration, res.Duration = inv.answered.Sub(inv.dispatched), time.Since(inv.dispatched)
	res.RequestID = inv.id
	return res
}
