package main

import (
	"context"
	"fmt"
	"time"

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
	if err := store.CreateTable(ctx, db, a.table); err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(a.stdout, map[string]string{"table": a.table, "status": "ACTIVE"})
	}
	fmt.Fprintf(a.stdout, "table %s is ready (pk/sk, on demand, TTL on expiresAt)\n", a.table)
	return nil
}
