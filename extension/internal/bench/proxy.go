package main

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// countingProxy sits between the extension and moto_server and counts DynamoDB calls by operation,
// independently of what the extension says about itself.
type countingProxy struct {
	srv       *http.Server
	url       string
	getItems  atomic.Int64
	batchGets atomic.Int64
	writes    atomic.Int64
}

func startCountingProxy(upstream string) (*countingProxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{url: "http://" + ln.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Amz-Target") {
		case "DynamoDB_20120810.GetItem":
			p.getItems.Add(1)
		case "DynamoDB_20120810.BatchGetItem":
			p.batchGets.Add(1)
		case "DynamoDB_20120810.PutItem", "DynamoDB_20120810.UpdateItem":
			p.writes.Add(1)
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *countingProxy) Close() { _ = p.srv.Close() }
