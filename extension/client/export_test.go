package client

// ResetWarnings forgets, for a test, which warnings this process has logged: the unknown variables
// named and the extensions known to be down (go test -count=N runs a test again in one process).
func ResetWarnings() {
	warnedNames.Clear()
	healthMu.Lock()
	clear(healths)
	healthMu.Unlock()
}
