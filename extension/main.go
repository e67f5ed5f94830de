// Command breakerbox is the breakerbox Lambda extension: an external extension, shipped in a layer as
// extensions/breakerbox, that answers the function's questions about circuits on
// http://127.0.0.1:$BREAKERBOX_PORT from a TTL cache of the breakerbox DynamoDB table, and aggregates
// the call outcomes the function reports. See DESIGN.md and the README's "The extension".
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

	api, err := extensionsapi.New(os.Getenv("AWS_LAMBDA_RUNTIME_API"), extensionsapi.Options{})
	if err != nil {
		log.Error("cannot reach the Extensions API", "error", err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

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
	b, err := newBreaker(ctx, cfg, log)
	if err != nil {
		_ = ln.Close()
		return initFailed(ctx, api, name, "Extension.InitFailed", err, log)
	}
	prefetch(ctx, b, cfg, log)

	srv := server.NewServer(server.Handler(b, server.Options{Token: cfg.Token, Logger: log, Started: started}), log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	err = lifecycle.Run(ctx, api, b, lifecycle.Options{
		Name:          name,
		FlushInterval: cfg.FlushInterval,
		Logger:        log,
		OnShutdown: func(ctx context.Context) {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		},
	}, func(reg extensionsapi.RegisterResponse) {
		log.Info("registered", "function", reg.FunctionName, "port", cfg.Port, "table", cfg.Table,
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

// newBreaker builds the store, the cache and the breaker from the configuration.
func newBreaker(ctx context.Context, cfg config.Config, log *slog.Logger) (*breaker.Breaker, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, store.Options{Timeout: cfg.StoreTimeout})
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

// prefetch reads BREAKERBOX_CIRCUITS into the cache. A failure is logged, not fatal: the circuits are
// read again on first use, and the fail mode covers an outage.
func prefetch(ctx context.Context, b *breaker.Breaker, cfg config.Config, log *slog.Logger) {
	if len(cfg.Circuits) == 0 {
		return
	}
	start := time.Now()
	if err := b.Cache().Prefetch(ctx, cfg.Circuits); err != nil {
		log.Warn("prefetch incomplete", "error", err.Error(), "ms", time.Since(start).Milliseconds())
		return
	}
	log.Info("prefetched", "circuits", cfg.Circuits, "ms", time.Since(start).Milliseconds())
}

// initFailed reports an init error to Lambda (registering first: init/error needs an extension
// identifier) and returns the exit code.
func initFailed(ctx context.Context, api *extensionsapi.Client, name, errorType string, err error, log *slog.Logger) int {
	log.Error("init failed", "errorType", errorType, "error", err.Error())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, rerr := api.Register(ctx, name, extensionsapi.Invoke, extensionsapi.Shutdown); rerr != nil {
		log.Error("cannot register to report the init error", "error", rerr.Error())
		return 1
	}
	if rerr := api.InitError(ctx, errorType, err.Error()); rerr != nil {
		log.Error("init/error not delivered", "error", rerr.Error())
	}
	return 1
}
