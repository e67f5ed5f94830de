package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/extension/internal/loadgen"
	"github.com/breakerbox/breakerbox/extension/internal/server"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// oneCircuit is a cache reader that always answers the same CLOSED circuit.
type oneCircuit struct{ c circuit.Circuit }

// Get returns the circuit.
func (o oneCircuit) Get(context.Context, string) (circuit.Circuit, error) { return o.c, nil }

// inProcess serves the extension's real handler (chi, auth, cache, JSON) and the bare handler from
// this process and drives both with the same generator: it isolates the handler's own cost from
// the differences between two processes.
func inProcess(ctx context.Context, id, token string, body []byte, conns, rounds int, dur time.Duration) (bare, ext loadgen.Result, err error) {
	c, err := cache.New(oneCircuit{circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: time.Now(), Reason: "2 successful probes"}},
		cache.Options{TTL: 5 * time.Second, StaleTTL: 10 * time.Minute, Size: 1024})
	if err != nil {
		return bare, ext, err
	}
	b, err := breaker.New(nil, c, breaker.Options{Policy: circuit.DefaultPolicy(), Shards: 4, WindowTTL: 5 * time.Second, FlushInterval: time.Second})
	if err != nil {
		return bare, ext, err
	}
	log := slog.New(slog.DiscardHandler)
	ct := []string{"application/json"}
	bareAddr, stopBare, err := serveHere(server.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = ct
		_, _ = w.Write(body)
	}), log))
	if err != nil {
		return bare, ext, err
	}
	defer stopBare()
	extAddr, stopExt, err := serveHere(server.NewServer(server.Handler(b, server.Options{Token: token}), log))
	if err != nil {
		return bare, ext, err
	}
	defer stopExt()
	for round := range rounds {
		cfg := loadgen.Config{Path: "/v1/circuits/" + id, Header: map[string]string{"X-Breakerbox-Token": token}, Conns: conns, Warmup: 200 * time.Millisecond, Duration: dur}
		order := []string{bareAddr, extAddr}
		if round%2 == 1 {
			order = []string{extAddr, bareAddr}
		}
		for _, addr := range order {
			cfg.Addr = addr
			r, err := loadgen.Run(ctx, cfg)
			if err != nil {
				return bare, ext, err
			}
			if addr == bareAddr {
				bare = bare.Merge(r)
			} else {
				ext = ext.Merge(r)
			}
		}
	}
	return bare, ext, nil
}

func serveHere(srv *http.Server) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
