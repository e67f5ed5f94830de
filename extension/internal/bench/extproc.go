package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// extProc is one running extension process.
type extProc struct {
	cmd     *exec.Cmd
	api     *fakeAPI
	port    int
	token   string
	startup time.Duration // process start → /register received
	done    chan error
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startExtension starts the binary with env added to a minimal environment and waits until it has
// registered (it prefetches before that).
func startExtension(ctx context.Context, bin string, env []string) (*extProc, error) {
	api, err := startFakeAPI()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		api.Close()
		return nil, err
	}
	p := &extProc{api: api, port: port, token: "bench-token", done: make(chan error, 1)}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + api.addr,
		"BREAKERBOX_PORT=" + strconv.Itoa(port),
		"AWS_SESSION_TOKEN=" + p.token,
		"BREAKERBOX_LOG_LEVEL=warn",
	}, env...)
	p.cmd.Stderr = os.Stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		api.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	select {
	case at := <-api.registered:
		p.startup = at.Sub(start)
	case msg := <-api.initErr:
		p.kill()
		return nil, fmt.Errorf("extension init failed: %s", msg)
	case err := <-p.done:
		api.Close()
		return nil, fmt.Errorf("extension exited before registering: %v", err)
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, fmt.Errorf("extension did not register within 30s")
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
	return p, nil
}

func (p *extProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// get fetches a path with the token.
func (p *extProc) get(path string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Breakerbox-Token", p.token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b, err
}

// stats reads /v1/stats.
func (p *extProc) stats() (map[string]float64, error) {
	b, err := p.get("/v1/stats")
	if err != nil {
		return nil, err
	}
	var m map[string]float64
	return m, json.Unmarshal(b, &m)
}

// stop sends SHUTDOWN, waits for the exit and returns the peak RSS in KiB.
func (p *extProc) stop() (int64, error) {
	defer p.api.Close()
	p.api.Shutdown()
	select {
	case err := <-p.done:
		if err != nil {
			return 0, fmt.Errorf("extension exit: %w", err)
		}
	case <-time.After(10 * time.Second):
		p.kill()
		return 0, fmt.Errorf("extension did not exit within 10s of SHUTDOWN")
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, nil
	}
	return ru.Maxrss, nil
}

func (p *extProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.api.Close()
}
