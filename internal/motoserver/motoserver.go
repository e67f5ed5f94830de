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
	"strings"
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
	// ln is the loopback socket moto serves on, held from before moto starts until Stop: no other
	// process can take the port between choosing it and moto listening on it.
	ln *net.TCPListener
}

// Start launches moto_server on a free loopback port and waits until it answers (see awaitStartUp;
// ctx bounds the wait).
// When moto's Python package is importable it is run through serve_locked.py, which makes each
// DynamoDB request atomic as in the real service; otherwise the plain moto_server command is used.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New(InstallHint)
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("motoserver: listen on a free loopback port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s := &Server{Port: port, URL: "http://127.0.0.1:" + strconv.Itoa(port), ln: ln}
	if err := s.launch(ctx, bin); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts moto on s.ln. Through serve_locked.py moto is handed the socket itself (its file
// descriptor 3), so what answers on the port can only be this moto. The plain moto_server command
// cannot take a socket: the port is let go just before it binds it.
func (s *Server) launch(ctx context.Context, bin string) error {
	if s.ln == nil {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.Port})
		if err != nil {
			return fmt.Errorf("motoserver: listen on port %d again: %w", s.Port, err)
		}
		s.ln = ln
	}
	var sock *os.File
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(s.Port))
	if py, err := exec.LookPath("python3"); err == nil && exec.Command(py, "-c", "import moto.server").Run() == nil {
		if sock, err = s.ln.File(); err != nil {
			return fmt.Errorf("motoserver: hand the socket to moto: %w", err)
		}
		defer sock.Close() // the child holds its own copy
		cmd = exec.Command(py, "-c", serveLocked, "127.0.0.1", strconv.Itoa(s.Port), "3")
		cmd.ExtraFiles = []*os.File{sock}
	} else {
		s.closeListener()
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
	return s.awaitStartUp(ctx)
}

// startUpStall is how long moto may go without using any CPU, and without answering, before its
// start-up counts as stuck.
const startUpStall = 30 * time.Second

// awaitStartUp waits until the server answers. It waits on progress, not on a clock: Python
// importing moto takes about a second of CPU, which on a loaded machine is spread over tens of
// seconds, so a fixed bound fails where nothing is wrong. The wait ends when the server answers, when
// it exits, when ctx ends, or when its processes have used no CPU for startUpStall (stuck).
func (s *Server) awaitStartUp(ctx context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second}
	pgid := s.cmd.Process.Pid
	lastCPU, lastProgress := groupCPU(pgid), time.Now()
	for {
		select {
		case <-s.done:
			return fmt.Errorf("motoserver: moto_server exited during start-up (run with MOTO_LOG=1 to see why)")
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("motoserver: waiting for start-up: %w", ctx.Err())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		if cpu := groupCPU(pgid); cpu != lastCPU {
			lastCPU, lastProgress = cpu, time.Now()
		} else if time.Since(lastProgress) > startUpStall {
			s.Stop()
			return fmt.Errorf("motoserver: moto_server on %s neither answers nor uses any CPU (stuck for %s)", s.URL, startUpStall)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// groupCPU returns the CPU time, in clock ticks, used so far by the processes of process group pgid
// and their reaped children, from /proc; -1 where /proc cannot tell (then only an answer, an exit
// or ctx ends the start-up wait).
func groupCPU(pgid int) int64 {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	var total int64
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name (which may hold spaces) are space-separated: state is
		// the 3rd field of the whole line, pgrp the 5th, utime to cstime the 14th to 17th.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			total += n
		}
	}
	return total
}

// Stop kills the server and its children and waits for it to exit. It is safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		s.closeListener()
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
	s.closeListener()
}

// closeListener lets the port go: connections to it are refused until a Restart.
func (s *Server) closeListener() {
	if s.ln != nil {
		_ = s.ln.Close()
		s.ln = nil
	}
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
