package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names and status values of the dedup table.
const (
	AttrPK        = "pk"
	AttrExpiresAt = "expiresAt"
	attrStatus    = "status"
	attrAttempts  = "attempts"
	attrOwner     = "owner"
	attrClaim     = "claimUntil"
	attrUpdated   = "updatedAt"
	attrLastError = "lastError"
	attrReason    = "reason"

	statusClaimed = "claimed"
	statusFailed  = "failed"
	statusDone    = "done"
	statusDLQ     = "dlq"
)

// maxIDBytes is the longest record id kept verbatim in a key; longer ids are hashed, so that a key
// stays well under DynamoDB's 2048-byte partition key limit.
const maxIDBytes = 1024

// DynamoDB is the part of the DynamoDB client the table uses.
type DynamoDB interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Options tune a Table. Every field is required.
type Options struct {
	// Lease is how long a claim keeps others away (see config.Config.ClaimLease).
	Lease time.Duration
	// TTL is how long an item is kept after its last write.
	TTL time.Duration
	// Timeout bounds every DynamoDB call.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Table is the dedup table.
type Table struct {
	db   DynamoDB
	name string
	opt  Options
}

// New returns the dedup table name, reached through db.
func New(db DynamoDB, name string, opt Options) *Table {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Table{db: db, name: name, opt: opt}
}

// Key is the dedup key of the record id of circuit that arrived at arrival: one key per record and
// UTC day, so a record succeeds at most once per day. Ids over 1 KiB are replaced by their SHA-256.
func Key(circuit string, arrival time.Time, id string) string {
	if len(id) > maxIDBytes {
		sum := sha256.Sum256([]byte(id))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return circuit + "#" + arrival.UTC().Format(time.DateOnly) + "#" + id
}

// Verdict is the outcome of a [Table.Claim].
type Verdict int

// Verdicts of a claim.
const (
	// Claimed: the caller holds the record and must Complete, Release or MarkDeadLettered it.
	Claimed Verdict = iota + 1
	// Done: the record already succeeded; skip it as a success.
	Done
	// DeadLettered: the record is already in the dead-letter queue; skip it as a success.
	DeadLettered
	// Busy: another ventilator holds a live claim; return the record as a failure so it is retried.
	Busy
)

// String names the verdict for logs.
func (v Verdict) String() string {
	switch v {
	case Claimed:
		return "claimed"
	case Done:
		return "done"
	case DeadLettered:
		return "dead-lettered"
	case Busy:
		return "busy"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Claim is the answer of [Table.Claim].
type Claim struct {
	Verdict Verdict
	// Attempts counts the claims of the record, this one included (Claimed), or as stored.
	Attempts int
	// LastError is the error of the previous failed attempt, if any.
	LastError string
}

// Claim takes the record at key for owner and counts an attempt, unless it is done, dead-lettered or
// held by a live claim. owner must be unique to the caller (an invocation and record).
func (t *Table) Claim(ctx context.Context, key, owner string) (Claim, error) {
	now := t.opt.Now()
	in := &dynamodb.UpdateItemInput{
		TableName:           &t.name,
		Key:                 pk(key),
		UpdateExpression:    aws.String("SET #st = :claimed, #owner = :owner, #cu = :cu, #exp = :exp, #ua = :now ADD #att :one"),
		ConditionExpression: aws.String("attribute_not_exists(#st) OR #st = :failed OR (#st = :claimed AND #cu < :now)"),
		ExpressionAttributeNames: map[string]string{
			"#st": attrStatus, "#owner": attrOwner, "#cu": attrClaim, "#exp": AttrExpiresAt, "#ua": attrUpdated, "#att": attrAttempts,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": str(statusClaimed), ":failed": str(statusFailed), ":owner": str(owner),
			":cu": num(now.Add(t.opt.Lease).UnixMilli()), ":exp": num(t.expiresAt(now)), ":now": num(now.UnixMilli()), ":one": num(1),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	ctx, cancel := context.WithTimeout(ctx, t.opt.Timeout)
	defer cancel()
	out, err := t.db.UpdateItem(ctx, in)
	if err == nil {
		return Claim{Verdict: Claimed, Attempts: intAttr(out.Attributes, attrAttempts), LastError: strAttr(out.Attributes, attrLastError)}, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return Claim{}, fmt.Errorf("dedup: claim %q: %w", key, err)
	}
	c := Claim{Attempts: intAttr(ccf.Item, attrAttempts), LastError: strAttr(ccf.Item, attrLastError)}
	switch strAttr(ccf.Item, attrStatus) {
	case statusDone:
		c.Verdict = Done
	case statusDLQ:
		c.Verdict = DeadLettered
	case statusClaimed:
		// Our own live claim: the SDK retried a claim whose answer was lost, and the retry found
		// the claim the first try made (owner is unique to one claim). Taking it for another's
		// would hold the record back a lease with an attempt counted for nothing.
		if strAttr(ccf.Item, attrOwner) == owner {
			c.Verdict = Claimed
			break
		}
		c.Verdict = Busy
	default:
		// A live claim, or an item DynamoDB did not return: either way someone else has it now.
		c.Verdict = Busy
	}
	return c, nil
}

// Complete records that owner's attempt succeeded. It reports whether the claim had been lost (it
// expired and was taken over); the record is then marked done anyway, unless it is already done or
// dead-lettered, since the work was done and must not be done again.
func (t *Table) Complete(ctx context.Context, key, owner string) (lost bool, err error) {
	return t.finish(ctx, key, owner, statusDone, "", "", false)
}

// Release records that owner's attempt failed with reason, so the record can be claimed again. A
// claim that was lost is left to its new owner (lost is true).
func (t *Table) Release(ctx context.Context, key, owner, reason string) (lost bool, err error) {
	return t.finish(ctx, key, owner, statusFailed, attrLastError, reason, false)
}

// Refused records that owner's call was turned away without being done (a throttle of the worker,
// the provider's 429), so the record can be claimed again: released as by Release, with the claim's
// attempt given back, since the record was never tried. Refusals are the controller's business (it
// backs off, and trips if every call is refused at the smallest concurrency); counted as attempts
// they would dead-letter healthy records of a provider that only rate-limits.
func (t *Table) Refused(ctx context.Context, key, owner, reason string) (lost bool, err error) {
	return t.finish(ctx, key, owner, statusFailed, attrLastError, reason, true)
}

// MarkDeadLettered records that owner sent the record to the dead-letter queue with reason, so it is
// never processed again. A lost claim is overridden unless the record is done.
func (t *Table) MarkDeadLettered(ctx context.Context, key, owner, reason string) (lost bool, err error) {
	return t.finish(ctx, key, owner, statusDLQ, attrReason, reason, false)
}

// finish ends owner's claim with status (and an optional text attribute), giving the claim's attempt
// back when refund is set. When the claim was lost, done and dlq are still written unless the record
// already reached a final status.
func (t *Table) finish(ctx context.Context, key, owner, status, textAttr, text string, refund bool) (bool, error) {
	now := t.opt.Now()
	names := map[string]string{"#st": attrStatus, "#owner": attrOwner, "#cu": attrClaim, "#exp": AttrExpiresAt, "#ua": attrUpdated}
	values := map[string]types.AttributeValue{
		":st": str(status), ":owner": str(owner), ":exp": num(t.expiresAt(now)), ":now": num(now.UnixMilli()),
		":claimed": str(statusClaimed),
	}
	set := "SET #st = :st, #exp = :exp, #ua = :now"
	if textAttr != "" {
		names["#text"] = textAttr
		values[":text"] = str(text)
		set += ", #text = :text"
	}
	update := set + " REMOVE #owner, #cu"
	if refund {
		names["#att"] = attrAttempts
		values[":back"] = num(-1)
		update += " ADD #att :back"
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &t.name,
		Key:                       pk(key),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#owner = :owner AND #st = :claimed"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	err := t.update(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		if err != nil {
			return false, fmt.Errorf("dedup: mark %q %s: %w", key, status, err)
		}
		return false, nil
	}
	if status == statusFailed {
		return true, nil
	}
	// The claim was lost. The outcome is still true, so record it (ending the other claim) unless a
	// final status is there.
	delete(values, ":owner")
	delete(values, ":claimed")
	values[":done"], values[":dlq"] = str(statusDone), str(statusDLQ)
	in.ConditionExpression = aws.String("attribute_not_exists(#st) OR (#st <> :done AND #st <> :dlq)")
	if err := t.update(ctx, in); err != nil && !errors.As(err, &ccf) {
		return true, fmt.Errorf("dedup: mark %q %s after a lost claim: %w", key, status, err)
	}
	return true, nil
}

func (t *Table) update(ctx context.Context, in *dynamodb.UpdateItemInput) error {
	ctx, cancel := context.WithTimeout(ctx, t.opt.Timeout)
	defer cancel()
	_, err := t.db.UpdateItem(ctx, in)
	return err
}

func (t *Table) expiresAt(now time.Time) int64 { return now.Add(t.opt.TTL).Unix() }

func pk(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(key)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func strAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func intAttr(item map[string]types.AttributeValue, name string) int {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.Atoi(v.Value)
		return n
	}
	return 0
}

// Charge counts one attempt against a record whose failed call was released without one (by
// [Table.Refused]) once the ventilator has decided that the failure was the record's own, not the
// provider's, and records reason as its last error. It reports the attempts now counted; charged
// is false (and nothing is written) when the record is no longer in the failed state: claimed
// again, done or dead-lettered since.
func (t *Table) Charge(ctx context.Context, key, reason string) (attempts int, charged bool, err error) {
	now := t.opt.Now()
	in := &dynamodb.UpdateItemInput{
		TableName:           &t.name,
		Key:                 pk(key),
		UpdateExpression:    aws.String("SET #le = :le, #exp = :exp, #ua = :now ADD #att :one"),
		ConditionExpression: aws.String("#st = :failed"),
		ExpressionAttributeNames: map[string]string{
			"#st": attrStatus, "#le": attrLastError, "#exp": AttrExpiresAt, "#ua": attrUpdated, "#att": attrAttempts,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":failed": str(statusFailed), ":le": str(reason), ":exp": num(t.expiresAt(now)), ":now": num(now.UnixMilli()), ":one": num(1),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	}
	ctx, cancel := context.WithTimeout(ctx, t.opt.Timeout)
	defer cancel()
	out, err := t.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("dedup: charge an attempt to %q: %w", key, err)
	}
	return intAttr(out.Attributes, attrAttempts), true, nil
}
