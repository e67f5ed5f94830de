package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/checker/input"
)

// MaxBody is how much of a response body a probe reads. The rest is left unread and the connection
// closed, so an endless body costs no more than this.
const MaxBody = 64 << 10

// maxRedirects bounds redirects for a target that follows them, as net/http does by default.
const maxRedirects = 10

// Result is what one probe saw.
type Result struct {
	// OK is true when the service answered with an expected status within the slow-call threshold.
	OK bool
	// Latency is from sending the request to the end of the body read (at most MaxBody).
	Latency time.Duration
	// Status is the HTTP status received, 0 when none was.
	Status int
	// Err classifies a failure for the circuit's lastError: "timeout", "connect: ...", "dns: ...",
	// "tls: ...", "status 503 (want 200-399)", "redirect 302 to ...", "slow: 1.2s > 1s". Empty when OK.
	Err string
	// Aborted is true when the probe was cut short by its caller (ctx), not by the target: it says
	// nothing about the service and must not be recorded.
	Aborted bool
}

// Prober sends probes. It is safe for concurrent use; make one per process and reuse it.
type Prober struct {
	transport *http.Transport
}

// New returns a Prober. tlsConfig may be nil (the system's roots, full verification); tests pass
// one that trusts their own server.
func New(tlsConfig *tls.Config) *Prober {
	dialer := &net.Dialer{KeepAlive: -1}
	return &Prober{transport: &http.Transport{
		Proxy:       http.ProxyFromEnvironment,
		DialContext: dialer.DialContext,
		// Every probe opens its own connection: it measures what a new caller would meet (DNS,
		// connect, TLS), and a pooled connection cannot go stale while Lambda freezes the process.
		DisableKeepAlives:      true,
		TLSClientConfig:        tlsConfig,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}}
}

// Close releases the Prober's idle resources.
func (p *Prober) Close() { p.transport.CloseIdleConnections() }

// errProbeTimeout is the cause of a probe context that ran out of its target's timeout.
var errProbeTimeout = errors.New("probe timeout")

// Probe sends t's request and judges the answer. slowCall is the threshold above which a healthy
// answer counts as a failure ("slow"); t.SlowCall wins when set, 0 disables the rule.
func (p *Prober) Probe(ctx context.Context, t input.Target, slowCall time.Duration) Result {
	if t.SlowCall > 0 {
		slowCall = t.SlowCall
	}
	pctx, cancel := context.WithTimeoutCause(ctx, t.Timeout, errProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, t.Method, t.URL.String(), nil)
	if err != nil {
		return Result{Err: "request: " + short(err.Error())}
	}
	for name, vals := range t.Headers {
		req.Header[name] = vals
	}
	if host := t.Headers.Get("Host"); host != "" {
		req.Host = host
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "breakerbox-checker/1")
	}
	client := &http.Client{Transport: p.transport, CheckRedirect: redirectPolicy(t)}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return failed(ctx, pctx, time.Since(start), 0, classify(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body of a 101 is the raw connection, handed over for another protocol: net/http no
		// longer watches the request's context on it, and reading it could wait forever. The probe
		// asked for no upgrade; the status is judged alone.
		return judge(t, resp, time.Since(start), slowCall)
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
	latency := time.Since(start)
	if err != nil {
		return failed(ctx, pctx, latency, resp.StatusCode, classify(err))
	}
	return judge(t, resp, latency, slowCall)
}

// judge decides on a complete answer.
func judge(t input.Target, resp *http.Response, latency, slowCall time.Duration) Result {
	r := Result{Latency: latency, Status: resp.StatusCode}
	switch {
	case !t.Expect.Contains(resp.StatusCode) && isRedirect(resp.StatusCode):
		r.Err = fmt.Sprintf("redirect %d to %s (want %s)", resp.StatusCode, short(resp.Header.Get("Location")), t.Expect)
	case !t.Expect.Contains(resp.StatusCode):
		r.Err = fmt.Sprintf("status %d (want %s)", resp.StatusCode, t.Expect)
	case slowCall > 0 && latency > slowCall:
		r.Err = fmt.Sprintf("slow: %s > %s", roundLatency(latency), slowCall)
	default:
		r.OK = true
	}
	return r
}

// failed builds the Result of a request that did not complete. When the caller's ctx ended first
// (not the target's timeout), the probe is Aborted: it says nothing about the service.
func failed(ctx, pctx context.Context, latency time.Duration, status int, class string) Result {
	if ctx.Err() != nil {
		return Result{Latency: latency, Status: status, Err: "aborted: " + context.Cause(ctx).Error(), Aborted: true}
	}
	if errors.Is(context.Cause(pctx), errProbeTimeout) {
		class = "timeout"
	}
	return Result{Latency: latency, Status: status, Err: class}
}

func redirectPolicy(t input.Target) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !t.FollowRedirects {
			return http.ErrUseLastResponse
		}
		if len(via) >= maxRedirects {
			return &redirectError{fmt.Sprintf("stopped after %d redirects, the last to %s", maxRedirects, req.URL.Redacted())}
		}
		if s := strings.ToLower(req.URL.Scheme); s != "http" && s != "https" {
			// net/http would fail with `unsupported protocol scheme "ftp"`, which reads as if the
			// target's own URL were wrong.
			return &redirectError{fmt.Sprintf("%d to %s: only http and https are followed", req.Response.StatusCode, req.URL.Redacted())}
		}
		if !sameHost(via[0].URL, req.URL) {
			// The target's headers (an API key, say) were given for its host: net/http would
			// forward all but Authorization and cookies to wherever the service points.
			for name := range t.Headers {
				if name != "User-Agent" {
					req.Header.Del(name)
				}
			}
		}
		return nil
	}
}

// sameHost reports whether to is on from's host (any port: http to https is the usual move), and
// no less secure.
func sameHost(from, to *url.URL) bool {
	if strings.EqualFold(from.Scheme, "https") && !strings.EqualFold(to.Scheme, "https") {
		return false
	}
	return strings.EqualFold(from.Hostname(), to.Hostname())
}

// redirectError is why a followed redirect was not: classified as "redirect ...".
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return "redirect " + e.msg }

func isRedirect(code int) bool { return code >= 300 && code < 400 }

// roundLatency keeps latencies readable in reasons: 1.234s, 1.5s, 850ms.
func roundLatency(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}
