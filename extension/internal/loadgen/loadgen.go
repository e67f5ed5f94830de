package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Config describes a run.
type Config struct {
	// Addr is host:port; Path the request target.
	Addr, Path string
	// Header is sent with every request (e.g. the token).
	Header map[string]string
	// Conns is the number of concurrent keep-alive connections.
	Conns int
	// Warmup runs before measuring; Duration is measured.
	Warmup, Duration time.Duration
	// Rate, when positive, paces the total request rate (requests per second); otherwise each
	// connection sends its next request as soon as the answer is read.
	Rate float64
}

// Result is what a run measured (warm-up excluded).
type Result struct {
	Requests, Errors int64
	Elapsed          time.Duration
	// Latencies are sorted ascending.
	Latencies []time.Duration
}

// RPS is the measured throughput.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentile returns the q-th (0..1) latency.
func (r Result) Percentile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// Merge adds o's requests and latencies to r (for runs taken in rounds).
func (r Result) Merge(o Result) Result {
	out := Result{Requests: r.Requests + o.Requests, Errors: r.Errors + o.Errors, Elapsed: r.Elapsed + o.Elapsed}
	out.Latencies = append(append(make([]time.Duration, 0, len(r.Latencies)+len(o.Latencies)), r.Latencies...), o.Latencies...)
	slices.Sort(out.Latencies)
	return out
}

// Run drives the load and returns what it measured.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Conns < 1 || cfg.Duration <= 0 {
		return Result{}, errors.New("loadgen: want at least one connection and a positive duration")
	}
	req := buildRequest(cfg)
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	type part struct {
		lat  []time.Duration
		errs int64
		err  error
	}
	parts := make([]part, cfg.Conns)
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		wg.Go(func() {
			var every time.Duration
			if cfg.Rate > 0 {
				every = time.Duration(float64(time.Second) * float64(cfg.Conns) / cfg.Rate)
			}
			parts[i].lat, parts[i].errs, parts[i].err = worker(ctx, cfg.Addr, req, measureFrom, end, every, time.Duration(i)*every/time.Duration(cfg.Conns))
		})
	}
	wg.Wait()
	var res Result
	for _, p := range parts {
		if p.err != nil {
			return Result{}, p.err
		}
		res.Latencies = append(res.Latencies, p.lat...)
		res.Errors += p.errs
	}
	res.Requests = int64(len(res.Latencies))
	res.Elapsed = cfg.Duration
	slices.Sort(res.Latencies)
	return res, nil
}

func buildRequest(cfg Config) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: breakerbox-loadgen\r\n", cfg.Path, cfg.Addr)
	for k, v := range cfg.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// worker sends requests on one connection until end, recording latencies after measureFrom. A
// non-200 answer is an error (counted); a broken connection is reopened.
func worker(ctx context.Context, addr string, req []byte, measureFrom, end time.Time, every, offset time.Duration) ([]time.Duration, int64, error) {
	lat := make([]time.Duration, 0, 1<<16)
	var errs int64
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	next := time.Now().Add(offset)
	for {
		if ctx.Err() != nil {
			return lat, errs, ctx.Err()
		}
		if every > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(every)
		}
		now := time.Now()
		if !now.Before(end) {
			return lat, errs, nil
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return lat, errs, fmt.Errorf("loadgen: dial %s: %w", addr, err)
			}
			conn, br = c, bufio.NewReaderSize(c, 16<<10)
		}
		_ = conn.SetDeadline(now.Add(10 * time.Second))
		t0 := time.Now()
		status, err := roundTrip(conn, br, req)
		d := time.Since(t0)
		if err != nil {
			conn.Close()
			conn = nil
			errs++
			continue
		}
		if status != 200 {
			errs++
		}
		if t0.After(measureFrom) {
			lat = append(lat, d)
		}
	}
}

// roundTrip writes req and reads one answer, returning its status.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (int, error) {
	if _, err := conn.Write(req); err != nil {
		return 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("loadgen: bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("loadgen: bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && bytes.EqualFold(h[:15], []byte("Content-Length:")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			if err != nil {
				return 0, fmt.Errorf("loadgen: bad Content-Length %q", h)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("loadgen: answer without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		return 0, fmt.Errorf("loadgen: read body: %w", err)
	}
	return status, nil
}
