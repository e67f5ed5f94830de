package config

import (
	"log/slog"

	"github.com/breakerbox/breakerbox/internal/envnames"
)

// WarnUnknown logs one warning for every BREAKERBOX_* variable of environ (as os.Environ) that no
// part of breakerbox reads, naming the closest known one: a misspelt setting is otherwise ignored
// without a word (BREAKERBOX_FAILMODE=closed leaves the fail mode open). Names read only by the
// clients or the ventilator, which share the function's environment, are known (envnames.Known).
// It returns how many it found.
func WarnUnknown(log *slog.Logger, environ []string) int {
	unknown := envnames.Find(environ)
	for _, u := range unknown {
		log.Warn(u.Message(), "variable", u.Name, "closest", u.Closest)
	}
	return len(unknown)
}
