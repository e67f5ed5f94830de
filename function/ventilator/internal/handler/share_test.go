package handler

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

// fixedShards counts a fixed number of pollers.
type fixedShards int

func (f fixedShards) Pollers(context.Context, string) (int, error) { return int(f), nil }

// More Kinesis pollers than MIN_CONCURRENCY: each keeps a call in flight, so the shares add up to
// more than the fleet's figure; the handler says so, naming the setting to raise, and shares stay
// at one call each. Within it, nothing is logged and the shares add up to at most the figure.
func TestKinesisPollersBeyondMinConcurrencyAreReported(t *testing.T) {
	for _, tt := range []struct {
		pollers, minConc, conc int
		warn                   bool
	}{
		{pollers: 4, minConc: 4, conc: 8},
		{pollers: 6, minConc: 2, conc: 4, warn: true},
	} {
		var buf bytes.Buffer
		ac := adaptive.DefaultConfig()
		ac.MinConcurrency, ac.MaxConcurrency = tt.minConc, 16
		h := &Handler{cfg: config.Config{Adaptive: ac}, Deps: Deps{Shards: fixedShards(tt.pollers)}}
		r := &run{recs: []record{{source: sourceKinesis, eventSourceARN: "arn:stream"}},
			log: slog.New(slog.NewJSONHandler(&buf, nil))}
		sh := h.shareOf(context.Background(), r, adaptive.State{Concurrency: tt.conc})
		logged := strings.Contains(buf.String(), "MIN_CONCURRENCY")
		if logged != tt.warn {
			t.Errorf("pollers %d, MIN_CONCURRENCY %d: logged a warning naming MIN_CONCURRENCY = %v, want %v (log %q)",
				tt.pollers, tt.minConc, logged, tt.warn, buf.String())
		}
		if !tt.warn && sh.pool*tt.pollers > tt.conc {
			t.Errorf("pollers %d at concurrency %d: pools of %d add up to more than it", tt.pollers, tt.conc, sh.pool)
		}
		if sh.pool < 1 {
			t.Errorf("pool %d: every poller needs at least one call in flight", sh.pool)
		}
	}
}
