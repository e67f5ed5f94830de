package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ErrNotFound is returned by Get for a circuit that has never been written.
var ErrNotFound = errors.New("circuit not found")

// ErrConflict is returned when a conditional write lost its race (and, from Update, when it lost it
// MaxAttempts times in a row).
var ErrConflict = errors.New("circuit changed concurrently")

// Options tune a Store. The zero value of each field means its default.
type Options struct {
	// Timeout bounds every DynamoDB call (default 500ms).
	Timeout time.Duration
	// MaxAttempts bounds Update's read-decide-write rounds (default 20).
	MaxAttempts int
	// ScanPageSize limits items per Scan page in List (default: DynamoDB's 1 MB pages).
	ScanPageSize int32
}

// Store reads and writes circuits in one table.
type Store struct {
	db    DynamoDB
	table string
	opt   Options
}

// New returns a Store on table.
func New(db DynamoDB, table string, opt Options) *Store {
	if opt.Timeout <= 0 {
		opt.Timeout = 500 * time.Millisecond
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 20
	}
	return &Store{db: db, table: table, opt: opt}
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opt.Timeout)
}

// Get reads a circuit with an eventually consistent read (half the cost of a strong one).
func (s *Store) Get(ctx context.Context, id string) (circuit.Circuit, error) {
	return s.get(ctx, id, false)
}

// GetConsistent reads a circuit with a strongly consistent read.
func (s *Store) GetConsistent(ctx context.Context, id string) (circuit.Circuit, error) {
	return s.get(ctx, id, true)
}

func (s *Store) get(ctx context.Context, id string, consistent bool) (circuit.Circuit, error) {
	if err := circuit.ValidateID(id); err != nil {
		return circuit.Circuit{}, err
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            circuitKey(id),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return circuit.Circuit{}, fmt.Errorf("store: get circuit %q from table %s: %w", id, s.table, err)
	}
	if len(out.Item) == 0 {
		return circuit.Circuit{}, fmt.Errorf("store: circuit %q: %w", id, ErrNotFound)
	}
	return decodeCircuit(out.Item)
}

// ConflictError is a lost race. It matches ErrConflict with errors.Is and carries the item that won,
// as DynamoDB returned it with the failed condition, so the loser can re-decide without a re-read.
type ConflictError struct {
	ID      string
	Version int64
	// Current is the stored circuit that won the race; nil if DynamoDB did not return it.
	Current *circuit.Circuit
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: put circuit %q version %d: %v", e.ID, e.Version, ErrConflict)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Put writes c on condition that the stored version is c.Version-1 (or that no item exists when
// c.Version is 1). A lost race returns a *ConflictError.
func (s *Store) Put(ctx context.Context, c circuit.Circuit) error {
	if err := circuit.ValidateID(c.ID); err != nil {
		return err
	}
	if c.Version < 1 {
		return fmt.Errorf("store: put circuit %q: version %d, want ≥ 1", c.ID, c.Version)
	}
	// A token marks this write, so that the SDK's retry of it is known as the success it is, not a
	// lost race (writetokens.go).
	item := encodeCircuit(c)
	token := MarkWrite(item, c.WriteTokens)
	in := &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                item,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if c.Version == 1 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("version = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": num(c.Version - 1)}
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	if _, err := s.db.PutItem(ctx, in); err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if Wrote(ccf.Item, token) {
				return nil // our own write, retried: it succeeded the first time
			}
			ce := &ConflictError{ID: c.ID, Version: c.Version}
			if len(ccf.Item) > 0 {
				if cur, derr := decodeCircuit(ccf.Item); derr == nil {
					ce.Current = &cur
				}
			}
			return ce
		}
		return fmt.Errorf("store: put circuit %q version %d: %w", c.ID, c.Version, err)
	}
	return nil
}

// Decide computes the next circuit from the current one. It must be pure: Update may call it several
// times, once per lost race.
type Decide func(prev circuit.Circuit) (circuit.Result, error)

// Update reads the circuit (a zero circuit with the id if there is none), decides, and writes the
// result conditionally; after a lost race it re-decides from the winner's item (returned with the
// failed condition, or re-read). It returns the result that was written (or the unchanged one when
// the decision changed nothing).
func (s *Store) Update(ctx context.Context, id string, decide Decide) (circuit.Result, error) {
	return UpdateRetrying(ctx, s, id, decide, s.opt.MaxAttempts, backoff)
}

// backoff is a full-jitter exponential pause between lost races: up to 2ms, 4ms, ... 256ms. With
// 20 writers on one item, a 16ms ceiling cost 16 attempts per winning write and 256ms cost 3.5
// (measured against moto); contention on one circuit is rare in production (transitions only).
func backoff(attempt int) time.Duration {
	ceil := time.Millisecond << min(attempt, 8)
	return time.Duration(rand.Int64N(int64(ceil)) + 1)
}
