package mapping

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
)

// API is the part of the Lambda client the Manager uses.
type API interface {
	GetEventSourceMapping(ctx context.Context, in *lambda.GetEventSourceMappingInput, opts ...func(*lambda.Options)) (*lambda.GetEventSourceMappingOutput, error)
	UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, opts ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error)
	ListEventSourceMappings(ctx context.Context, in *lambda.ListEventSourceMappingsInput, opts ...func(*lambda.Options)) (*lambda.ListEventSourceMappingsOutput, error)
}

// Locator says which mapping to control: UUID, or the only mapping of FunctionName on EventSourceARN.
type Locator struct {
	UUID           string
	FunctionName   string
	EventSourceARN string
}

// Options tune a Manager; zero fields take their defaults.
type Options struct {
	// Timeout bounds every Lambda API call (default 5s).
	Timeout time.Duration
	// MaxAttempts bounds the tries of one update (default 6).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the backoff between tries (defaults 200ms and 5s).
	BaseDelay, MaxDelay time.Duration
	// CacheTTL is how long the mapping's last known configuration is trusted before Apply reads it
	// again (default 1m).
	CacheTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Config is the part of a mapping's configuration the ventilator controls or needs.
type Config struct {
	UUID           string
	EventSourceARN string
	BatchSize      int
	Enabled        bool
	// State is Lambda's state of the mapping: Enabled, Disabled, Updating, ...
	State string
	// BatchingWindow is MaximumBatchingWindowInSeconds.
	BatchingWindow int
	// MaximumConcurrency is an SQS mapping's ScalingConfig.MaximumConcurrency (0: not set, Lambda
	// scales up to its own limit).
	MaximumConcurrency int
	// ParallelizationFactor is a Kinesis mapping's concurrent batches per shard (0 reads as 1).
	ParallelizationFactor int
}

// Want is the configuration Apply establishes.
type Want struct {
	// BatchSize is the wanted batch size; 0 keeps the current one.
	BatchSize int
	// Enabled is the wanted flag: Keep (the zero value), Enable or Disable.
	Enabled Flag
	// MaximumConcurrency is the wanted ScalingConfig.MaximumConcurrency of an SQS mapping (2-1000);
	// 0 keeps the current one. Ignored for other sources.
	MaximumConcurrency int
}

// Flag is a wanted state of the mapping's enabled flag.
type Flag int

// Values of Flag.
const (
	Keep Flag = iota
	Enable
	Disable
)

// Applied reports what Apply did.
type Applied struct {
	// Changed is true when UpdateEventSourceMapping was called (and succeeded).
	Changed bool
	// Before is the configuration Apply compared against; After is what it is now.
	Before, After Config
	// Clamped is true when the wanted batch size exceeded what the source accepts.
	Clamped bool
	// Attempts is the number of UpdateEventSourceMapping calls made.
	Attempts int
}

// Bounds of an SQS mapping's ScalingConfig.MaximumConcurrency, as the Lambda API sets them
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html#events-sqs-max-concurrency).
const (
	MinMaximumConcurrency = 2
	MaxMaximumConcurrency = 1000
)

// Manager controls one mapping. It is safe for concurrent use.
type Manager struct {
	api API
	loc Locator
	opt Options

	mu       sync.Mutex
	uuid     string
	cached   *Config
	cachedAt time.Time
}

// New returns a Manager of the mapping loc designates; nothing is called until it is used.
func New(api API, loc Locator, opt Options) *Manager {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 6
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = 200 * time.Millisecond
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = 5 * time.Second
	}
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Manager{api: api, loc: loc, opt: opt, uuid: loc.UUID}
}

// UUID returns the mapping's UUID, finding it on first use when the Locator has none.
func (m *Manager) UUID(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.uuidLocked(ctx)
}

func (m *Manager) uuidLocked(ctx context.Context) (string, error) {
	if m.uuid != "" {
		return m.uuid, nil
	}
	uuid, err := m.find(ctx)
	if err != nil {
		return "", err
	}
	m.uuid = uuid
	return uuid, nil
}

// find lists the mappings of the function on the source; exactly one must exist.
func (m *Manager) find(ctx context.Context) (string, error) {
	if m.loc.FunctionName == "" || m.loc.EventSourceARN == "" {
		return "", errors.New("mapping: no UUID, and no function name and event source ARN to find it by")
	}
	var found []string
	in := &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(m.loc.FunctionName), EventSourceArn: aws.String(m.loc.EventSourceARN)}
	for page := 0; page < 100; page++ {
		cctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
		out, err := m.api.ListEventSourceMappings(cctx, in)
		cancel()
		if err != nil {
			return "", fmt.Errorf("mapping: list mappings of %s on %s: %w", m.loc.FunctionName, m.loc.EventSourceARN, err)
		}
		for _, c := range out.EventSourceMappings {
			if aws.ToString(c.EventSourceArn) == m.loc.EventSourceARN {
				found = append(found, aws.ToString(c.UUID))
			}
		}
		if aws.ToString(out.NextMarker) == "" {
			break
		}
		in.Marker = out.NextMarker
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("mapping: function %s has no event source mapping on %s", m.loc.FunctionName, m.loc.EventSourceARN)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("mapping: function %s has %d mappings on %s (%s): set ESM_UUID", m.loc.FunctionName, len(found), m.loc.EventSourceARN, strings.Join(found, ", "))
}

// Get reads the mapping's configuration from the Lambda API.
func (m *Manager) Get(ctx context.Context) (Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.getLocked(ctx)
}

func (m *Manager) getLocked(ctx context.Context) (Config, error) {
	uuid, err := m.uuidLocked(ctx)
	if err != nil {
		return Config{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
	defer cancel()
	out, err := m.api.GetEventSourceMapping(cctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
	if err != nil {
		m.cached = nil
		return Config{}, fmt.Errorf("mapping: get %s: %w", uuid, err)
	}
	c := Config{
		UUID:                  uuid,
		EventSourceARN:        aws.ToString(out.EventSourceArn),
		BatchSize:             int(aws.ToInt32(out.BatchSize)),
		State:                 aws.ToString(out.State),
		Enabled:               enabled(aws.ToString(out.State)),
		BatchingWindow:        int(aws.ToInt32(out.MaximumBatchingWindowInSeconds)),
		ParallelizationFactor: int(aws.ToInt32(out.ParallelizationFactor)),
	}
	if out.ScalingConfig != nil {
		c.MaximumConcurrency = int(aws.ToInt32(out.ScalingConfig.MaximumConcurrency))
	}
	m.remember(c)
	return c, nil
}

// Apply makes the mapping's batch size and enabled flag those of want, calling
// UpdateEventSourceMapping only when they differ. It compares against the configuration it last
// read or wrote, if that is younger than CacheTTL, not Updating or Creating, and fresh is false;
// otherwise it reads the mapping first. Pass fresh when the wanted configuration just changed, since another ventilator may have
// changed the mapping since.
func (m *Manager) Apply(ctx context.Context, want Want, fresh bool) (Applied, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur Config
	if !fresh && m.cached != nil && m.opt.Now().Sub(m.cachedAt) < m.opt.CacheTTL && !transitional(m.cached.State) {
		cur = *m.cached
	} else {
		c, err := m.getLocked(ctx)
		if err != nil {
			return Applied{}, err
		}
		cur = c
	}
	a := Applied{Before: cur, After: cur}
	size := want.BatchSize
	if size == 0 {
		size = cur.BatchSize
	}
	if limit := maxBatchSize(cur); size > limit {
		size, a.Clamped = limit, true
	}
	flagChanges := want.Enabled != Keep && (want.Enabled == Enable) != cur.Enabled
	scaling := 0
	if src, _ := config.SourceOf(cur.EventSourceARN); want.MaximumConcurrency != 0 && src != config.SourceKinesis {
		scaling = min(max(want.MaximumConcurrency, MinMaximumConcurrency), MaxMaximumConcurrency)
		a.Clamped = a.Clamped || scaling != want.MaximumConcurrency
	}
	scalingChanges := scaling != 0 && scaling != cur.MaximumConcurrency
	if size == cur.BatchSize && !flagChanges && !scalingChanges {
		return a, nil
	}
	in := &lambda.UpdateEventSourceMappingInput{UUID: aws.String(cur.UUID)}
	if flagChanges {
		in.Enabled = aws.Bool(want.Enabled == Enable)
	}
	if size != cur.BatchSize {
		in.BatchSize = aws.Int32(int32(size))
	}
	if scalingChanges {
		in.ScalingConfig = &types.ScalingConfig{MaximumConcurrency: aws.Int32(int32(scaling))}
	}
	out, attempts, err := m.update(ctx, in)
	a.Attempts = attempts
	if err != nil {
		m.cached = nil
		return a, err
	}
	after := cur
	after.BatchSize = size
	if want.Enabled != Keep {
		after.Enabled = want.Enabled == Enable
	}
	if scalingChanges {
		after.MaximumConcurrency = scaling
	}
	if out.BatchSize != nil {
		after.BatchSize = int(*out.BatchSize)
	}
	if out.ScalingConfig != nil && out.ScalingConfig.MaximumConcurrency != nil {
		after.MaximumConcurrency = int(*out.ScalingConfig.MaximumConcurrency)
	}
	after.State = aws.ToString(out.State)
	m.remember(after)
	a.After, a.Changed = after, true
	return a, nil
}

func (m *Manager) remember(c Config) {
	m.cached = &c
	m.cachedAt = m.opt.Now()
}

// enabled reads Lambda's mapping state: Enabled and Enabling are on; Updating and Creating are
// judged on (they end Enabled unless a disable is under way, which then shows as Disabling).
func enabled(state string) bool {
	switch strings.ToLower(state) {
	case "disabled", "disabling", "deleting":
		return false
	}
	return true
}

// transitional reports whether the mapping is between states, so a cached view of it is not trusted.
func transitional(state string) bool {
	switch strings.ToLower(state) {
	case "updating", "creating":
		return true
	}
	return false
}

// maxBatchSize is the largest batch size the mapping's source accepts.
func maxBatchSize(c Config) int {
	switch src, _ := config.SourceOf(c.EventSourceARN); {
	case src == config.SourceSQSFIFO, src == config.SourceSQS && c.BatchingWindow < 1:
		return 10
	}
	return 10000
}
