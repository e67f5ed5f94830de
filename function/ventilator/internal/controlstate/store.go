package controlstate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/ctxwait"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Key values and attribute names of the controller item.
const (
	PKPrefix    = "ventilator#"
	SK          = "controller"
	attrPK      = "pk"
	attrSK      = "sk"
	attrState   = "state"
	attrVersion = "version"
	attrUpdated = "updatedAt"
	attrMarks   = "marks"
)

// ErrConflict is returned by Update when it lost the race MaxAttempts times in a row.
var ErrConflict = errors.New("controller state changed concurrently too many times")

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Options tune a Store; zero fields take their defaults.
type Options struct {
	// Timeout bounds every DynamoDB call (default 5s).
	Timeout time.Duration
	// MaxAttempts bounds Update's rounds of apply-and-write (default 20).
	MaxAttempts int
	// Now is the clock for updatedAt; nil means time.Now.
	Now func() time.Time
}

// Store reads and writes controller states in one table.
type Store struct {
	db    DynamoDB
	table string
	opt   Options
}

// New returns a Store on table.
func New(db DynamoDB, table string, opt Options) *Store {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Store{db: db, table: table, opt: opt}
}

// Snapshot is a stored state and the version it was written with (0: none stored yet).
type Snapshot struct {
	State   adaptive.State
	Marks   Marks
	Version int64
	// tokens mark the item's latest writes (store.WriteTokens): a retried put finds its own among
	// them, even after other writers wrote over it.
	tokens []string
}

// Marks are what the ventilator itself remembers beside the controller's state, written under the
// same condition.
type Marks struct {
	// Resuming is set by the wake-up that resumed a tripped controller, and cleared only once the
	// mapping is really enabled: with Tripped it is the "tripped" mark the wake-up acts on, so a
	// failed enable is retried by the next wake-up, never forgotten.
	Resuming bool `dynamodbav:"resuming,omitempty"`
}

// Entry is what one write stores: the controller's state and the ventilator's marks.
type Entry struct {
	State adaptive.State
	Marks Marks
}

// ApplyEntry computes the next entry from the previous one. Like Apply it must be pure.
type ApplyEntry func(prev Entry) (Entry, adaptive.Decision)

// Apply computes the next state from the previous one. It must be pure: Update calls it again on the
// winner's state after every lost race.
type Apply func(prev adaptive.State) (adaptive.State, adaptive.Decision)

// Change is what Update wrote.
type Change struct {
	// Prev is the state the final Apply started from, Next the state written.
	Prev, Next adaptive.State
	// PrevMarks and Marks are the marks before and as written.
	PrevMarks, Marks Marks
	// Decision is the final Apply's decision.
	Decision adaptive.Decision
	// Version is the version written.
	Version int64
	// Attempts is the number of writes tried (1 without contention).
	Attempts int
}

// Get reads the state of the mapping (consistently). A mapping without a stored state gives a zero
// Snapshot, which adaptive controllers read as their initial state.
func (s *Store) Get(ctx context.Context, mappingUUID string) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(mappingUUID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Snapshot{}, fmt.Errorf("controlstate: get %s: %w", mappingUUID, err)
	}
	if len(out.Item) == 0 {
		return Snapshot{}, nil
	}
	return decode(mappingUUID, out.Item)
}

// Update applies fn to the stored state and writes the result on condition that nobody wrote in
// between. After a lost race it applies fn again to the winner's state (returned by DynamoDB with the
// failed condition, or re-read), up to MaxAttempts times, then fails with ErrConflict.
func (s *Store) Update(ctx context.Context, mappingUUID string, fn Apply) (Change, error) {
	return s.update(ctx, mappingUUID, nil, keepMarks(fn))
}

// UpdateFrom is Update starting from known, a snapshot read earlier, which saves a read when nobody
// wrote since (a lost race re-applies fn on the winner's state as Update does).
func (s *Store) UpdateFrom(ctx context.Context, mappingUUID string, known Snapshot, fn Apply) (Change, error) {
	return s.update(ctx, mappingUUID, &known, keepMarks(fn))
}

// UpdateEntry is UpdateFrom for a change of the marks too.
func (s *Store) UpdateEntry(ctx context.Context, mappingUUID string, known Snapshot, fn ApplyEntry) (Change, error) {
	return s.update(ctx, mappingUUID, &known, fn)
}

// keepMarks lifts an Apply to an ApplyEntry that leaves the marks as they are.
func keepMarks(fn Apply) ApplyEntry {
	return func(prev Entry) (Entry, adaptive.Decision) {
		next, d := fn(prev.State)
		return Entry{State: next, Marks: prev.Marks}, d
	}
}

func (s *Store) update(ctx context.Context, mappingUUID string, cur *Snapshot, fn ApplyEntry) (Change, error) {
	for attempt := 1; ; attempt++ {
		if cur == nil {
			snap, err := s.Get(ctx, mappingUUID)
			if err != nil {
				return Change{}, err
			}
			cur = &snap
		}
		next, decision := fn(Entry{State: cur.State, Marks: cur.Marks})
		ch := Change{Prev: cur.State, Next: next.State, PrevMarks: cur.Marks, Marks: next.Marks, Decision: decision, Version: cur.Version + 1, Attempts: attempt}
		winner, err := s.put(ctx, mappingUUID, ch, cur.tokens)
		if err == nil {
			return ch, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Change{}, err
		}
		if attempt >= s.opt.MaxAttempts {
			return Change{}, fmt.Errorf("controlstate: update %s after %d attempts: %w", mappingUUID, attempt, ErrConflict)
		}
		cur = winner
		if err := ctxwait.Sleep(ctx, pause(attempt)); err != nil {
			return Change{}, fmt.Errorf("controlstate: update %s: %w", mappingUUID, err)
		}
	}
}

// put writes ch conditionally, over an item whose latest writes' tokens are prev (store.MarkWrite).
// On a lost race it returns ErrConflict and the winner's snapshot when DynamoDB returned it (nil
// otherwise, to re-read). A failed condition on an item that carries this write's token is the SDK's
// retry of a put that succeeded: put returns nil then, as applying the batch again on the item would
// count it twice.
func (s *Store) put(ctx context.Context, mappingUUID string, ch Change, prev []string) (*Snapshot, error) {
	state, err := attributevalue.Marshal(ch.Next)
	if err != nil {
		return nil, fmt.Errorf("controlstate: encode state of %s: %w", mappingUUID, err)
	}
	item := key(mappingUUID)
	item[attrState] = state
	item[attrVersion] = num(ch.Version)
	item[attrUpdated] = num(s.opt.Now().UnixMilli())
	token := store.MarkWrite(item, prev)
	if ch.Marks != (Marks{}) {
		marks, err := attributevalue.Marshal(ch.Marks)
		if err != nil {
			return nil, fmt.Errorf("controlstate: encode marks of %s: %w", mappingUUID, err)
		}
		item[attrMarks] = marks
	}
	in := &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                item,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if ch.Version == 1 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#v = :prev")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": num(ch.Version - 1)}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	_, err = s.db.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil, nil
	case !errors.As(err, &ccf):
		return nil, fmt.Errorf("controlstate: put %s version %d: %w", mappingUUID, ch.Version, err)
	case len(ccf.Item) == 0:
		return nil, ErrConflict
	case store.Wrote(ccf.Item, token):
		return nil, nil // our own put, retried by the SDK after its answer was lost
	}
	winner, derr := decode(mappingUUID, ccf.Item)
	if derr != nil {
		return nil, ErrConflict
	}
	return &winner, ErrConflict
}

// pause is the jittered, growing wait between lost races (up to about 200ms), so that contending
// ventilators spread out.
func pause(attempt int) time.Duration {
	return time.Duration(rand.Int64N(int64(min(attempt, 8))*25*int64(time.Millisecond)) + 1)
}

func decode(mappingUUID string, item map[string]types.AttributeValue) (Snapshot, error) {
	var snap Snapshot
	v, ok := item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return snap, fmt.Errorf("controlstate: item of %s has no numeric version", mappingUUID)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return snap, fmt.Errorf("controlstate: item of %s: version %q: %w", mappingUUID, v.Value, err)
	}
	snap.Version = n
	snap.tokens = store.WriteTokens(item)
	if raw, ok := item[attrState]; ok {
		if err := attributevalue.Unmarshal(raw, &snap.State); err != nil {
			return snap, fmt.Errorf("controlstate: item of %s: state: %w", mappingUUID, err)
		}
	}
	if raw, ok := item[attrMarks]; ok {
		if err := attributevalue.Unmarshal(raw, &snap.Marks); err != nil {
			return snap, fmt.Errorf("controlstate: item of %s: marks: %w", mappingUUID, err)
		}
	}
	return snap, nil
}

func key(mappingUUID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: PKPrefix + mappingUUID},
		attrSK: &types.AttributeValueMemberS{Value: SK},
	}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
