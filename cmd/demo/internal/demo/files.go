package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Names of the files written to the output directory.
const (
	FileChart       = "timeline.svg"
	FileTransitions = "transitions.jsonl"
	FileMetrics     = "metrics.jsonl"
	FileLog         = "demo.log"
	FileFunctions   = "functions.log"
	FileSummary     = "summary.txt"
	DirBin          = "bin"
	// fileLock is held (flock) for the whole run, so that a second demo on the same folder stops
	// at once instead of truncating the first one's logs and rebuilding the binaries it runs.
	fileLock = ".lock"
)

// files are the output files kept open during the run.
type files struct {
	dir                                        string
	lock, log, functions, transitions, metrics *os.File
}

// openFiles creates the output directory and (re)creates the files written during the run.
func openFiles(dir string) (*files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, fileLock), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("-out %s: another demo is running with this output directory: wait for it to end, or give this one another -out", dir)
		}
		return nil, fmt.Errorf("output directory: lock %s: %w", dir, err)
	}
	f := &files{dir: dir, lock: lock}
	for _, x := range []struct {
		name string
		dst  **os.File
	}{{FileLog, &f.log}, {FileFunctions, &f.functions}, {FileTransitions, &f.transitions}, {FileMetrics, &f.metrics}} {
		h, err := os.Create(filepath.Join(dir, x.name))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("output file: %w", err)
		}
		*x.dst = h
	}
	_ = os.Remove(filepath.Join(dir, FileChart))
	_ = os.Remove(filepath.Join(dir, FileSummary))
	return f, nil
}

// path is the path of a file of the output directory.
func (f *files) path(name string) string { return filepath.Join(f.dir, name) }

// close closes every open file and returns the first error.
func (f *files) close() error {
	var errs []error
	for _, h := range []*os.File{f.log, f.functions, f.transitions, f.metrics, f.lock} { // the lock last
		if h != nil {
			if err := h.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
