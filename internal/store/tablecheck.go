package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// ErrTableNotFound matches (errors.Is) the error of CheckTable when the table does not exist.
var ErrTableNotFound = errors.New("table does not exist")

// checkKey is a key no item uses: circuit ids cannot hold '#', and window and ventilator keys
// have other shapes.
var checkKey = map[string]types.AttributeValue{attrPK: str("breakerbox#check"), attrSK: str("check")}

// CheckTable reads one key no item uses (one eventually consistent read, 0.5 RCU) to learn whether
// the table exists. A table that does not exist is an error matching ErrTableNotFound: a wrong
// name, region or account, which no retry mends. Any other error (a timeout, DynamoDB unreachable
// for a moment) is returned as it is, for the caller to treat as passing.
func (s *Store) CheckTable(ctx context.Context) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: checkKey})
	if err == nil {
		return nil
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("store: DynamoDB table %q: %w (%s)", s.table, ErrTableNotFound, nf.ErrorMessage())
	}
	return fmt.Errorf("store: read table %q: %w", s.table, err)
}

// TableMissing reports whether err, from any store call, says the table does not exist.
func TableMissing(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.Is(err, ErrTableNotFound) || errors.As(err, &nf)
}

// Cause says in a few words why a DynamoDB call failed and what to check, for answers that show
// the failure to someone who can fix it: a table that does not exist, access denied, no answer in
// time, DynamoDB unreachable, or the error's own text.
func Cause(err error) string {
	var api smithy.APIError
	var op *net.OpError
	switch {
	case err == nil:
		return ""
	case TableMissing(err):
		return "the table does not exist: check BREAKERBOX_TABLE, and that the table is in the function's region and account"
	case errors.As(err, &api) && strings.Contains(api.ErrorCode(), "AccessDenied"):
		return "access denied: the function's role needs dynamodb:GetItem, PutItem, UpdateItem and BatchGetItem on the table (" + api.ErrorMessage() + ")"
	case errors.As(err, &op):
		return "DynamoDB cannot be reached: " + op.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "DynamoDB did not answer within BREAKERBOX_STORE_TIMEOUT"
	case errors.As(err, &api):
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}
