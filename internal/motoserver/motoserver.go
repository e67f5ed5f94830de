// Package motoserver starts and stops a local moto_server, the AWS API emulator that tests, the demo
// and CI use in place of an AWS account. It listens on a free loopback port only.
package motoserver

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// InstallHint says how to get moto_server when it is missing.
const InstallHint = `moto_server not found on PATH: install it with  pip install "moto[server]"  (make test does this when pip is available)`

// Region is the region every local client uses.
const Region = "us-east-1"

//go:embed serve_locked.py
var serveLocked string

// Server is a running moto_server process.
type Server struct {
	// URL is the endpoint, e.g. http://127.0.0.1:41234.
	URL  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Start launches moto_server on a free loopback port and waits until it answers (at most 30 s).
// When moto's Python package is importable it is run through serve_locked.py, which makes each
// DynamoDB request atomic as in the real service; otherwise the plain moto_server command is used.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New(InstallHint)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("motoserver: find a free port: %w", err)
	}
	s := &Server{Port: port, URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := s.launch(ctx, bin); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) launch(ctx context.Context, bin string) error {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(s.Port))
	if py, err := exec.LookPath("python3"); err == nil && exec.Command(py, "-c", "import moto.server").Run() == nil {
		cmd = exec.Command(py, "-c", serveLocked, "127.0.0.1", strconv.Itoa(s.Port))
	}
	cmd.Stdout, cmd.Stderr = nil, nil
	if os.Getenv("MOTO_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("motoserver: start %s: %w", bin, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("motoserver: moto_server exited during start-up (run with MOTO_LOG=1 to see why)")
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("motoserver: waiting for start-up: %w", ctx.Err())
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("motoserver: no answer on %s after 30s", s.URL)
}

// Stop kills the server and its children and waits for it to exit. It is safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts a fresh server on the same port (state is lost), for tests of a store outage.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return errors.New(InstallHint)
	}
	return s.launch(ctx, bin)
}

// AWSConfig returns an SDK config with static test credentials, the local region and the server as
// the base endpoint of every service.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	}
}

// Env returns the environment variables that point a child process's SDK at the server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
