package handler

import (
	"context"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/emf"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
)

// Breaker is what the ventilator asks of the breakerbox extension; *client.Client satisfies it.
type Breaker interface {
	// AcquireBatch asks whether the batch's calls to the circuit's downstream may go now; they are
	// reported together, so the extension names no call of them (client.Client.AcquireBatch). When
	// the extension cannot answer, the Decision follows the fail mode and the error says why.
	AcquireBatch(ctx context.Context, id string) (client.Decision, error)
	// Report tells the extension the outcomes of calls.
	Report(ctx context.Context, id string, outcomes ...client.Outcome) error
	// State reads the circuit; an unknown circuit is an error matching client.ErrNotFound.
	State(ctx context.Context, id string) (client.Circuit, error)
}

// Circuit states and overrides, as the extension names them.
const (
	StateClosed   = "CLOSED"
	StateOpen     = "OPEN"
	StateHalfOpen = "HALF_OPEN"
	ForcedOpen    = "FORCED_OPEN"
	ForcedClosed  = "FORCED_CLOSED"
)

// Dedup is the dedup table (*dedup.Table).
type Dedup interface {
	Claim(ctx context.Context, key, owner string) (dedup.Claim, error)
	Complete(ctx context.Context, key, owner string) (bool, error)
	Release(ctx context.Context, key, owner, reason string) (bool, error)
	Refused(ctx context.Context, key, owner, reason string) (bool, error)
	MarkDeadLettered(ctx context.Context, key, owner, reason string) (bool, error)
	Charge(ctx context.Context, key, reason string) (attempts int, charged bool, err error)
}

// StateStore keeps the controller state (*controlstate.Store).
type StateStore interface {
	Get(ctx context.Context, mappingUUID string) (controlstate.Snapshot, error)
	UpdateFrom(ctx context.Context, mappingUUID string, known controlstate.Snapshot, fn controlstate.Apply) (controlstate.Change, error)
	UpdateEntry(ctx context.Context, mappingUUID string, known controlstate.Snapshot, fn controlstate.ApplyEntry) (controlstate.Change, error)
}

// Mapping controls the event source mapping (*mapping.Manager).
type Mapping interface {
	UUID(ctx context.Context) (string, error)
	Apply(ctx context.Context, want mapping.Want, fresh bool) (mapping.Applied, error)
}

// Shards counts the ventilators a Kinesis mapping runs at once (*shards.Counter).
type Shards interface {
	// Pollers is open shards × parallelization factor; on an error, the last known figure.
	Pollers(ctx context.Context, streamARN string) (int, error)
}

// Worker calls the worker function (*fanout.Caller).
type Worker interface {
	Call(ctx context.Context, payload []byte) fanout.Outcome
}

// DeadLetters is the dead-letter queue (*deadletter.Queue).
type DeadLetters interface {
	Send(ctx context.Context, l deadletter.Letter) error
}

// Metrics writes the EMF lines (*emf.Writer).
type Metrics interface {
	Write(m emf.Metrics) error
}
