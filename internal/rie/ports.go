package rie

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// AWS's emulator takes its ports on the command line, so a port is chosen free and then bound by
// another process a moment later: in between, anyone else may take it. Ports handed out for
// "port 0" come from the kernel's ephemeral range, which every test server on the machine draws
// from; so a port is chosen below that range, where only a process naming it explicitly would
// bind it, and the emulator's listener is then checked to be its own (listensOn).

// ephemeralLow is the start of the kernel's ephemeral port range (32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}

// freePort returns a loopback TCP port that was free a moment ago: one chosen at random below
// the ephemeral range when that leaves room (at least 10000 ports above 10000), else one the
// kernel picks.
func freePort() (int, error) {
	if low := ephemeralLow(); low-10000 >= 10000 {
		for range 50 {
			p := 10000 + rand.IntN(low-10000)
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
				_ = l.Close()
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("rie: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// listensOn reports whether process pid holds the listening TCP socket on port: one of its file
// descriptors is a socket whose inode /proc/PID/net/tcp lists in state LISTEN on that port.
func listensOn(pid, port int) (bool, error) {
	fdDir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false, err
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fdDir + "/" + fd.Name())
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	found := false
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/net/" + table)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: TCP_LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port && mine[fields[9]] {
				found = true
			}
		}
		_ = f.Close()
	}
	return found, nil
}
