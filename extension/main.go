// Command breakerbox is the breakerbox Lambda extension: an external extension, shipped in a layer as
// extensions/breakerbox, that answers the function's questions about circuits on
// http://127.0.0.1:$BREAKERBOX_PORT from a TTL cache of the breakerbox DynamoDB table, and aggregates
// the call outcomes the function reports. See docs/design.md and docs/operations.md ("The extension").
//
// This file only wires the parts together; each lives in a package under extension/internal.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/extension/internal/config"
	"github.com/breakerbox/breakerbox/extension/internal/lifecycle"
	"github.com/breakerbox/breakerbox/extension/internal/server"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/extensionsapi"
	"github.com/breakerbox/breakerbox/internal/store"
)

func main() { os.Exit(run()) }

// run returns the process's exit code.
func run() int {
	started := time.Now()
	level := new(slog.LevelVar)
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("extension", "breakerbox")
	name := filepath.Base(os.Args[0])

	runtimeAPI := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	api, err := extensionsapi.New(runtimeAPI, extensionsapi.Options{})
	if err != nil {
		log.Error("cannot reach the Extensions API", "error", err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	config.WarnUnknown(log, os.Environ()) // before Load: a misspelt name may be why Load fails
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return initFailed(ctx, api, name, "Extension.ConfigInvalid", err, log)
	}
	level.Set(cfg.LogLevel)

	// Bind before registering, so the function's first query finds the listener.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return initFailed(ctx, api, name, "Extension.ListenFailed", fmt.Errorf("BREAKERBOX_PORT=%d: %w", cfg.Port, err), log)
	}
	// Lambda gives the whole init phase 10 s, the function's own init included: the table check
	// and the prefetch get initStoreBudget together, whatever BREAKERBOX_STORE_TIMEOUT says, and
	// what is not read by then is read on first use.
	ictx, icancel := context.WithTimeout(ctx, initStoreBudget)
	defer icancel()
	b, err := newBreaker(ictx, cfg, log)
	if err != nil {
		_ = ln.Close()
		return initFailed(ctx, api, name, "Extension.InitFailed", err, log)
	}
	if err := prefetch(ictx, b, cfg, log); err != nil {
		_ = ln.Close()
		return initFailed(ctx, api, name, "Extension.InitFailed", err, log)
	}

	// The default model: each request is bounded by the deadline of the invocation in progress,
	// and a report writes what it puts at stake before the function answers (the environment may
	// freeze right after). Lambda Managed Instances: never frozen, reports buffer for the clock.
	deadline := &lifecycle.Deadline{}
	srv := server.NewServer(server.Handler(b, server.Options{Token: cfg.Token, Logger: log, Started: started,
		Bound: deadline.Bound, WriteOnReport: !cfg.ManagedInstances}), log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	err = lifecycle.Run(ctx, api, b, lifecycle.Options{
		Name:             name,
		FlushInterval:    cfg.FlushInterval,
		Logger:           log,
		ManagedInstances: cfg.ManagedInstances,
		Deadline:         deadline,
		OnShutdown: func(ctx context.Context) {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		},
	}, func(reg extensionsapi.RegisterResponse) {
		log.Info("registered", "function", reg.FunctionName, "managedInstances", cfg.ManagedInstances, "port", cfg.Port, "table", cfg.Table,
			"prefetched", len(cfg.Circuits), "shard", b.Shard(), "auth", cfg.Token != "", "startMs", time.Since(started).Milliseconds())
	})
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "error", err.Error())
		}
	default:
	}
	if err != nil {
		log.Error("extension stopping on error", "error", err.Error())
		ectx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if rerr := api.ExitError(ectx, "Extension.Failed", err.Error()); rerr != nil {
			log.Warn("exit/error not delivered", "error", rerr.Error())
		}
		return 1
	}
	log.Info("shut down cleanly")
	return 0
}

// initStoreBudget bounds the DynamoDB reads of the init (the table check, the prefetch), together:
// Lambda ends an init phase that runs past 10 s, and a DynamoDB that does not answer must not take
// the function's init with it (a BREAKERBOX_STORE_TIMEOUT of 10 s would, on its own).
const initStoreBudget = 3 * time.Second

// newBreaker builds the store, the cache and the breaker from the configuration.
func newBreaker(ctx context.Context, cfg config.Config, log *slog.Logger) (*breaker.Breaker, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, store.Options{Timeout: cfg.StoreTimeout})
	// A table that does not exist fails the init, where the user looks first; DynamoDB slow or
	// unreachable for a moment does not: the cache retries and the fail mode answers meanwhile.
	// With circuits to prefetch, their reads tell (see prefetch), without a read of their own.
	if len(cfg.Circuits) == 0 {
		if err := st.CheckTable(ctx); store.TableMissing(err) {
			return nil, tableMissing(cfg, awsCfg.Region, err)
		} else if err != nil {
			log.Warn("table not readable at init; going on, the fail mode answers until it is", "table", cfg.Table, "error", err.Error())
		}
	}
	c, err := cache.New(st, cache.Options{TTL: cfg.CacheTTL, StaleTTL: cfg.StaleTTL, Size: cfg.CacheSize})
	if err != nil {
		return nil, err
	}
	pub := events.NewPublisher(eventbridge.NewFromConfig(awsCfg), events.Options{Bus: cfg.EventBus, Timeout: cfg.PublishTimeout})
	return breaker.New(st, c, breaker.Options{
		Events:        pub,
		Policy:        cfg.Policy,
		FailOpen:      cfg.FailMode.Allows(),
		Shards:        cfg.CounterShards,
		Shard:         -1, // random: spreads the fleet's writes over the shards
		WindowTTL:     cfg.CacheTTL,
		FlushInterval: cfg.FlushInterval,
		Logger:        log,
	})
}

// prefetch reads BREAKERBOX_CIRCUITS into the cache. A table that does not exist is an error that
// fails the init; any other failure is logged, not fatal: the circuits are read again on first use,
// and the fail mode covers an outage.
func prefetch(ctx context.Context, b *breaker.Breaker, cfg config.Config, log *slog.Logger) error {
	if len(cfg.Circuits) == 0 {
		return nil
	}
	start := time.Now()
	if err := b.Cache().Prefetch(ctx, cfg.Circuits); err != nil {
		if store.TableMissing(err) {
			return tableMissing(cfg, os.Getenv("AWS_REGION"), err)
		}
		log.Warn("prefetch incomplete", "error", err.Error(), "ms", time.Since(start).Milliseconds())
		return nil
	}
	log.Info("prefetched", "circuits", cfg.Circuits, "ms", time.Since(start).Milliseconds())
	return nil
}

// tableMissing is the init error for a table that does not exist.
func tableMissing(cfg config.Config, region string, err error) error {
	return fmt.Errorf("BREAKERBOX_TABLE=%s: the DynamoDB table does not exist; check the name, and that the table is in region %s (AWS_REGION) and this account (%w)", cfg.Table, region, err)
}

// initFailed reports an init error to Lambda (registering first, for SHUTDOWN only, which both
// execution models accept: init/error needs an extension identifier) and returns the exit code.
func initFailed(ctx context.Context, api *extensionsapi.Client, name, errorType string, err error, log *slog.Logger) int {
	log.Error("init failed", "errorType", errorType, "error", err.Error())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, rerr := api.Register(ctx, name, extensionsapi.Shutdown); rerr != nil {
		log.Error("cannot register to report the init error", "error", rerr.Error())
		return 1
	}
	if rerr := api.InitError(ctx, errorType, err.Error()); rerr != nil {
		log.Error("init/error not delivered", "error", rerr.Error())
	}
	return 1
}
