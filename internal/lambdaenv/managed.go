package lambdaenv

import "time"

// invokeManaged runs one invoke on a sandbox of the Lambda Managed Instances model
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html):
// init runs once, for the first invoke, while the others wait for it; then up to
// ManagedConcurrency invokes run at once, each handed to whichever runtime worker asks next.
// Extensions get no INVOKE event and nothing is frozen. An invoke that times out fails alone,
// without resetting the environment that the other invocations share (the runtime's late answer
// is taken and dropped); a crash of the runtime or an extension fails every invocation in flight
// and resets the sandbox.
func (s *sandbox) invokeManaged(inv *invocation) Result {
	s.opMu.Lock()
	if e := s.warm(inv); e != nil {
		s.opMu.Unlock()
		return errorResult(inv.id, e)
	}

	s.mu.Lock()
	g := s.dispatchLocked(inv)
	s.running++
	s.broadcastLocked()
	s.mu.Unlock()
	s.opMu.Unlock()

	done := s.waitUntil(inv.deadline, func() bool { return g.fatal != nil || g.invokeDone(inv, true) })

	s.mu.Lock()
	s.running--
	delete(g.inflight, inv.id)
	g.dequeue(inv)
	fatal, res, reset := g.fatal, inv.result, g.reset
	if done && fatal == nil {
		inv.ended = inv.answered
	}
	if !done && fatal == nil {
		inv.timedOut = true
		s.runtimeDoneLocked(g, inv, "timeout")
	}
	if len(g.inflight) == 0 && g.phase == phaseInvoke {
		g.phase = phaseIdle
	}
	s.broadcastLocked()
	s.mu.Unlock()

	switch {
	case fatal != nil:
		res := s.failed(inv, fatal)
		s.resetIfCurrent(g)
		return res
	case !done:
		return s.timedOut(inv)
	}
	if reset {
		s.resetIfCurrent(g)
	}
	return answered(inv, res)
}

// resetIfCurrent shuts generation g down (reason failure) once no invocation of it is in flight,
// unless another invoke already did.
func (s *sandbox) resetIfCurrent(g *generation) {
	s.waitUntil(time.Now().Add(s.fn.cfg.Timeout), func() bool { return len(g.inflight) == 0 || s.gen != g })
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	current := s.gen == g
	s.mu.Unlock()
	if current {
		s.shutdown(ShutdownFailure)
	}
}
