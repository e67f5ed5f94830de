package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
)

// files are the output files kept open during the run.
type files struct {
	dir                                  string
	log, functions, transitions, metrics *os.File
}

// openFiles creates the output directory and (re)creates the files written during the run.
func openFiles(dir string) (*files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	f := &files{dir: dir}
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
	for _, h := range []*os.File{f.log, f.functions, f.transitions, f.metrics} {
		if h != nil {
			if err := h.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
