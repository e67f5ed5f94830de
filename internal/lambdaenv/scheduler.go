package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// ScheduleRule is a schedule the Scheduler fires on its own, without EventBridge.
type ScheduleRule struct {
	// Name is the rule's name; the scheduled event's resources hold its ARN.
	Name string
	// Schedule is an EventBridge rate expression, e.g. "rate(10 minutes)".
	Schedule string
	// Function is the target function (name or ARN).
	Function string
	// Input is the rule's constant input, sent verbatim; nil sends the scheduled event.
	Input json.RawMessage
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Invoker runs the target functions, usually the Env.
	Invoker Invoker
	// Speedup compresses time: a rate(10 minutes) rule fires every 10m/Speedup (300: every 2 s).
	// Default 1.
	Speedup float64
	// Rules are static schedules.
	Rules []ScheduleRule
	// EventBridge, when set, makes the scheduler also follow the scheduled rules of that EventBridge
	// API (moto): every RefreshInterval it lists the rules of EventBus, and fires every ENABLED rule
	// with a rate() schedule at its (compressed) rate to its Lambda targets, each with the target's
	// constant Input or the scheduled event. Rules added, disabled or deleted take effect at the next
	// refresh.
	EventBridge *eventbridge.Client
	// EventBus is the bus whose rules are followed; default "default" (the only bus that takes
	// schedule expressions).
	EventBus string
	// RulePrefix, when set, limits the EventBridge rules followed to those whose name starts with it.
	RulePrefix string
	// RefreshInterval is how often the EventBridge rules are listed; default 1s.
	RefreshInterval time.Duration
	// Region and AccountID fill the scheduled event; defaults us-east-1 and 123456789012.
	Region, AccountID string
	// EventRules are rules with an event pattern whose matching events are delivered to their
	// function (see EventRule); they need EventBridge and SQS.
	EventRules []EventRule
	// SQS is the SQS API (moto) that carries the EventRules' events.
	SQS *sqs.Client
	// Logger receives the scheduler's logs; default: discarded.
	Logger *slog.Logger
}

// SchedulerStats counts what a Scheduler did.
type SchedulerStats struct {
	// Fired counts rule firings; Invokes the invokes they made (one per Lambda target).
	Fired, Invokes int64
	// FunctionErrors counts invokes that returned a function error; Errors counts failed invokes
	// and EventBridge API errors.
	FunctionErrors, Errors int64
	// Refreshes counts listings of the EventBridge rules.
	Refreshes int64
	// Events counts the events of EventRules received; EventRetries the retries of their failed
	// invokes.
	Events, EventRetries int64
	// Rules is the number of rules being fired.
	Rules int
}

// Scheduler delivers EventBridge scheduled events (or a rule's constant input) to functions at the
// rules' rates, compressed by Speedup. A rule first fires one (compressed) period after the
// scheduler learns of it. Invokes run concurrently, as EventBridge invokes Lambda asynchronously.
type Scheduler struct {
	cfg SchedulerConfig
	log *slog.Logger

	mu     sync.Mutex
	stats  SchedulerStats
	jobs   map[string]*job // by rule ARN
	static []*job
}

// job is one rule being fired.
type job struct {
	name, arn string
	schedule  string
	interval  time.Duration
	next      time.Time
	static    *ScheduleRule // nil for an EventBridge rule
}

// NewScheduler validates cfg and returns a Scheduler; Run starts it.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("lambdaenv: NewScheduler needs an Invoker")
	}
	if cfg.Speedup == 0 {
		cfg.Speedup = 1
	}
	if cfg.Speedup < 0 {
		return nil, fmt.Errorf("lambdaenv: scheduler speedup %v: want > 0", cfg.Speedup)
	}
	if cfg.EventBus == "" {
		cfg.EventBus = "default"
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Second
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{cfg: cfg, log: cfg.Logger, jobs: map[string]*job{}}
	for i, r := range cfg.EventRules {
		if r.Name == "" || r.Function == "" {
			return nil, fmt.Errorf("lambdaenv: event rule %d needs a Name and a Function", i)
		}
	}
	if len(cfg.EventRules) > 0 && (cfg.EventBridge == nil || cfg.SQS == nil) {
		return nil, errors.New("lambdaenv: scheduler EventRules need the EventBridge and SQS clients")
	}
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		if r.Name == "" || r.Function == "" {
			return nil, fmt.Errorf("lambdaenv: schedule rule %d needs a Name and a Function", i)
		}
		if r.Input != nil && !json.Valid(r.Input) {
			return nil, fmt.Errorf("lambdaenv: schedule rule %s: Input is not valid JSON", r.Name)
		}
		period, err := ParseRate(r.Schedule)
		if err != nil {
			return nil, fmt.Errorf("lambdaenv: schedule rule %s: %w", r.Name, err)
		}
		s.static = append(s.static, &job{name: r.Name, arn: s.ruleARN(cfg.EventBus, r.Name), schedule: r.Schedule, interval: s.compress(period), static: r})
	}
	return s, nil
}

var rateRE = regexp.MustCompile(`^rate\(\s*([0-9]+)\s+(minute|minutes|hour|hours|day|days)\s*\)$`)

// ParseRate returns the period of an EventBridge rate expression such as "rate(10 minutes)".
// Cron expressions are not supported.
func ParseRate(expr string) (time.Duration, error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return 0, fmt.Errorf("schedule %q: want rate(N minutes|hours|days) (cron() is not supported)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("schedule %q: the rate must be a positive integer", expr)
	}
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, nil
}

// compress scales a period by the speedup (at least 10 ms).
func (s *Scheduler) compress(period time.Duration) time.Duration {
	return max(time.Duration(float64(period)/s.cfg.Speedup), 10*time.Millisecond)
}

func (s *Scheduler) ruleARN(bus, name string) string {
	if bus == "default" {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.cfg.Region, s.cfg.AccountID, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", s.cfg.Region, s.cfg.AccountID, bus, name)
}

// Stats returns a snapshot of the scheduler's counters.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Rules = len(s.static) + len(s.jobs)
	return st
}

func (s *Scheduler) count(f func(*SchedulerStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Run fires the rules and delivers the event rules' events until ctx ends, waits for the invokes in
// flight, and returns nil. It fails at once only when an event rule cannot be set up.
func (s *Scheduler) Run(ctx context.Context) error {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	relays, err := s.setUpRelays(ctx)
	if err != nil {
		return err
	}
	for _, r := range relays {
		inflight.Go(func() { s.deliverEvents(ctx, r, &inflight) })
	}
	now := time.Now()
	for _, j := range s.static {
		j.next = now.Add(j.interval)
	}
	nextRefresh := now
	for ctx.Err() == nil {
		now = time.Now()
		if s.cfg.EventBridge != nil && !now.Before(nextRefresh) {
			if err := s.refresh(ctx, now); err != nil && ctx.Err() == nil {
				s.count(func(st *SchedulerStats) { st.Errors++ })
				s.log.Warn("list scheduled rules", "error", err.Error())
			}
			nextRefresh = now.Add(s.cfg.RefreshInterval)
		}
		wake := nextRefresh
		if s.cfg.EventBridge == nil {
			wake = now.Add(time.Hour)
		}
		for _, j := range s.allJobs() {
			if !now.Before(j.next) {
				s.fire(ctx, j, &inflight)
				j.next = j.next.Add(j.interval)
				if j.next.Before(now) {
					j.next = now.Add(j.interval) // do not catch up on missed periods in a burst
				}
			}
			if j.next.Before(wake) {
				wake = j.next
			}
		}
		sleepCtx(ctx, time.Until(wake))
	}
	return nil
}

func (s *Scheduler) allJobs() []*job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]*job(nil), s.static...)
	for _, j := range s.jobs {
		out = append(out, j)
	}
	return out
}

// refresh lists the bus's enabled rate() rules and updates the jobs.
func (s *Scheduler) refresh(ctx context.Context, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	seen := map[string]bool{}
	var token *string
	for {
		out, err := s.cfg.EventBridge.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(s.cfg.EventBus), NamePrefix: nonEmpty(s.cfg.RulePrefix), NextToken: token})
		if err != nil {
			return fmt.Errorf("list rules: %w", err)
		}
		for _, r := range out.Rules {
			expr := aws.ToString(r.ScheduleExpression)
			if expr == "" || r.State != ebtypes.RuleStateEnabled {
				continue
			}
			period, err := ParseRate(expr)
			if err != nil {
				s.log.Debug("scheduled rule skipped", "rule", aws.ToString(r.Name), "error", err.Error())
				continue
			}
			arn := aws.ToString(r.Arn)
			seen[arn] = true
			s.mu.Lock()
			j := s.jobs[arn]
			switch {
			case j == nil:
				s.jobs[arn] = &job{name: aws.ToString(r.Name), arn: arn, schedule: expr, interval: s.compress(period), next: now.Add(s.compress(period))}
				s.log.Info("following scheduled rule", "rule", aws.ToString(r.Name), "schedule", expr, "every", s.compress(period).String())
			case j.schedule != expr:
				j.schedule, j.interval, j.next = expr, s.compress(period), now.Add(s.compress(period))
			}
			s.mu.Unlock()
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	s.mu.Lock()
	for arn, j := range s.jobs {
		if !seen[arn] {
			delete(s.jobs, arn)
			s.log.Info("scheduled rule gone or disabled", "rule", j.name)
		}
	}
	s.stats.Refreshes++
	s.mu.Unlock()
	return nil
}

// target is one function and the payload a firing sends it.
type target struct {
	function string
	payload  []byte
}

// fire sends one firing of j to its targets, each invoke in its own goroutine.
func (s *Scheduler) fire(ctx context.Context, j *job, inflight *sync.WaitGroup) {
	s.count(func(st *SchedulerStats) { st.Fired++ })
	targets, err := s.targets(ctx, j)
	if err != nil {
		s.count(func(st *SchedulerStats) { st.Errors++ })
		s.log.Warn("rule targets", "rule", j.name, "error", err.Error())
		return
	}
	for _, t := range targets {
		inflight.Go(func() {
			ictx, cancel := context.WithTimeout(ctx, 15*time.Minute)
			defer cancel()
			_, err := s.invoke(ictx, t.function, t.payload)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("scheduled invoke failed", "rule", j.name, "function", t.function, "error", err.Error())
			}
		})
	}
}

// invoke invokes function with payload and counts the invoke and how it failed, if it did.
func (s *Scheduler) invoke(ctx context.Context, function string, payload []byte) (Result, error) {
	res, err := s.cfg.Invoker.Invoke(ctx, function, payload)
	s.count(func(st *SchedulerStats) {
		st.Invokes++
		switch {
		case err != nil:
			st.Errors++
		case res.FunctionError != "":
			st.FunctionErrors++
		}
	})
	return res, err
}

// targets resolves what a firing of j sends to which function.
func (s *Scheduler) targets(ctx context.Context, j *job) ([]target, error) {
	if j.static != nil {
		payload := []byte(j.static.Input)
		if payload == nil {
			payload = s.scheduledEvent(j.arn)
		}
		name, _ := FunctionNameFromARN(j.static.Function)
		return []target{{function: name, payload: payload}}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := s.cfg.EventBridge.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(j.name), EventBusName: aws.String(s.cfg.EventBus)})
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	var ts []target
	for _, t := range out.Targets {
		arn := aws.ToString(t.Arn)
		if !strings.Contains(arn, ":lambda:") || !strings.Contains(arn, ":function:") {
			continue
		}
		name, _ := FunctionNameFromARN(arn)
		payload := []byte(aws.ToString(t.Input))
		if t.Input == nil {
			payload = s.scheduledEvent(j.arn)
		}
		ts = append(ts, target{function: name, payload: payload})
	}
	return ts, nil
}

// scheduledEvent is the event EventBridge sends for a firing of a scheduled rule.
func (s *Scheduler) scheduledEvent(ruleARN string) []byte {
	b, _ := json.Marshal(events.EventBridgeEvent{
		Version:    "0",
		ID:         newUUID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  s.cfg.AccountID,
		Time:       time.Now().UTC().Truncate(time.Second),
		Region:     s.cfg.Region,
		Resources:  []string{ruleARN},
		Detail:     json.RawMessage("{}"),
	})
	return b
}

// nonEmpty is nil for "" and a pointer to s otherwise.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
