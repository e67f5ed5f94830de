package e2e

import (
	"bytes"
	"encoding/json"
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
	// added is each counter write's item key (pk and sk) and when the proxy saw it, under mu.
	added []counterWrite
}

// counterWrite is one counter ADD the proxy saw: to which item, when.
type counterWrite struct {
	key string
	at  time.Time
}

// counterWrites returns the counter ADDs seen so far.
func (p *storeProxy) counterWrites() []counterWrite {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]counterWrite(nil), p.added...)
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
			var item struct {
				Key map[string]map[string]string
			}
			_ = json.Unmarshal(body, &item) // a key that does not parse is recorded empty
			p.mu.Lock()
			p.added = append(p.added, counterWrite{key: item.Key["pk"]["S"] + " " + item.Key["sk"]["S"], at: time.Now()})
			p.mu.Unlock()
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
	status, header, answer, err := forward(p.hc, p.target, r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answerWith(w, status, header, answer)
}

// forward sends r, whose body was read as body, on to target (moto) and returns moto's answer read
// whole. The proxies in this package decide what to do with the answer: pass it on (answerWith),
// hold it, or drop it.
func forward(hc *http.Client, target string, r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// answerWith writes a forwarded answer back to the extension.
func answerWith(w http.ResponseWriter, status int, header http.Header, answer []byte) {
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}
