package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/store"
)

func runCreateTable(ctx context.Context, a *app, args []string) error {
	fs := a.flags("create-table")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("create-table takes no arguments; name the table with --table or BREAKERBOX_TABLE")
	}
	db, err := a.dynamo(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute+a.awsTimeout) // the waiter allows the table two minutes
	defer cancel()
	admin := timedAdmin{db: db, timeout: a.awsTimeout}
	// store.CreateTable takes a table of that name that is there already as it is, and turns TTL on
	// for its expiresAt: one that is not breakerbox's is refused first, untouched, rather than
	// called ready.
	if err := checkKeySchema(ctx, admin, a.table); err != nil {
		return err
	}
	if err := store.CreateTable(ctx, admin, a.table); err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(a.stdout, map[string]string{"table": a.table, "status": "ACTIVE"})
	}
	fmt.Fprintf(a.stdout, "table %s is ready (pk/sk, on demand, TTL on expiresAt)\n", a.table)
	return nil
}

// checkKeySchema refuses a table that exists with a key that is not breakerbox's: pk (S)
// partition, sk (S) sort.
func checkKeySchema(ctx context.Context, admin timedAdmin, table string) error {
	out, err := admin.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil // to be created
	}
	if err != nil {
		return fmt.Errorf("describe table %s: %w", table, err)
	}
	attrType := map[string]string{}
	for _, d := range out.Table.AttributeDefinitions {
		attrType[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	var key []string
	for _, k := range out.Table.KeySchema {
		name := aws.ToString(k.AttributeName)
		key = append(key, fmt.Sprintf("%s (%s, %s)", name, k.KeyType, attrType[name]))
	}
	want := []string{"pk (HASH, S)", "sk (RANGE, S)"}
	if !slices.Equal(key, want) {
		return fmt.Errorf("table %s exists but is not a breakerbox table: its key is %s, breakerbox's is %s; name another table with --table or BREAKERBOX_TABLE",
			table, strings.Join(key, " + "), strings.Join(want, " + "))
	}
	return nil
}

// timedAdmin bounds each call of store.CreateTable by --aws-timeout, as every other command's calls
// are: the two minutes the table may take to become active are the waiter's, not one call's, so a
// server that accepts the connection and never answers is reported after --aws-timeout.
type timedAdmin struct {
	db      *dynamodb.Client
	timeout time.Duration
}

func (t timedAdmin) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.db.CreateTable(ctx, in, opts...)
}

func (t timedAdmin) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.db.DescribeTable(ctx, in, opts...)
}

func (t timedAdmin) UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.db.UpdateTimeToLive(ctx, in, opts...)
}
