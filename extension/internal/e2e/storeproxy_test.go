package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// storeProxy sits in front of moto for the extension's DynamoDB calls: it counts them and, while
// held, holds every write (as a throttled or unreachable DynamoDB does at its worst) until released
// or the caller gives up.
type storeProxy struct {
	target string
	hc     *http.Client
	// writes counts DynamoDB writes of every kind; adds the counter writes among them ("ADD calls").
	writes, adds atomic.Int64
	mu           sync.Mutex
	held         chan struct{} // nil: writes pass
	url          string
}

// newStoreProxy starts a proxy to the shared moto; Release is called at the test's end.
func newStoreProxy(t *testing.T, target string) *storeProxy {
	p := &storeProxy{target: target, hc: &http.Client{Timeout: 5 * time.Minute}}
	ps := httptest.NewServer(p)
	p.url = ps.URL
	t.Cleanup(ps.Close)
	return p
}

// Hold makes every write wait until Release.
func (p *storeProxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
}

// Release lets held writes (and later ones) through.
func (p *storeProxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}

func isWrite(target string) bool {
	for _, op := range []string{"UpdateItem", "PutItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"} {
		if target == "DynamoDB_20120810."+op {
			return true
		}
	}
	return false
}

func (p *storeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if isWrite(r.Header.Get("X-Amz-Target")) {
		p.writes.Add(1)
		if strings.Contains(string(body), "ADD calls") {
			p.adds.Add(1)
		}
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		if held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return // the extension gave up on it
			}
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.hc.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
