package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// TestCreateTableRefusesATableThatIsNotBreakerboxs: create-table on a name whose table exists with
// another key answered "table X is ready (pk/sk, ...)", and every command after it failed with
// DynamoDB's bare "The provided key element does not match the schema". create-table now says the
// table is not breakerbox's, and so do the other commands' errors.
func TestCreateTableRefusesATableThatIsNotBreakerboxs(t *testing.T) {
	c := newCtl(t)
	name := fmt.Sprintf("ctl-other-schema-%d", seq.Add(1))
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	if _, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := c.run("create-table", "--table", name)
	if want := fmt.Sprintf("table %s exists but is not a breakerbox table: its key is id (HASH, S), breakerbox's is pk (HASH, S) + sk (RANGE, S)", name); code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("create-table on another table: exit %d %q; want exit %d and %q", code, errOut, exitError, want)
	}
	// and left it untouched: no TTL turned on for an attribute that may be the owner's own
	ttl, err := db.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		t.Errorf("create-table turned TTL on in a table that is not breakerbox's: %s on %s", d.TimeToLiveStatus, aws.ToString(d.AttributeName))
	}
	// circuits scans it as empty: it says whose table it is not, not "no circuits yet"
	_, errOut, code = c.run("circuits", "--table", name)
	if code != exitError || !strings.Contains(errOut, "is not a breakerbox table") {
		t.Errorf("circuits on another table: exit %d %q", code, errOut)
	}
	// watch would wait forever for circuits that cannot appear there
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	var wout, werr testkit.SyncBuffer
	code = c.runCtx(wctx, &wout, &werr, "watch", "--table", name)
	cancel()
	if code != exitError || !strings.Contains(werr.String(), "is not a breakerbox table") {
		t.Errorf("watch on another table: exit %d %q", code, werr.String())
	}
	_, errOut, code = c.run("force-open", "x", "--reason", "r", "--table", name)
	if want := fmt.Sprintf("table %q at the endpoint", name); code != exitError || !strings.Contains(errOut, want) || !strings.Contains(errOut, "is not a breakerbox table") {
		t.Errorf("force-open on another table: exit %d %q", code, errOut)
	}
}
