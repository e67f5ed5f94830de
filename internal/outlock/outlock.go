// Package outlock makes a command that writes an output folder its only writer for its run: a
// second command on the same folder stops at once, saying so, instead of mixing its files with the
// first one's.
package outlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Name is the lock file created in the folder.
const Name = ".lock"

// ErrBusy is returned (wrapped) when another process holds the folder.
var ErrBusy = errors.New("in use by another run")

// Lock creates dir when it is missing and takes an exclusive lock on it (flock on dir/.lock, so the
// lock ends with the process, however it ends). what names the command in the error, e.g. "sim".
// Close the file to release it.
func Lock(dir, what string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-out: create %s: %w (pick a folder you can write)", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, Name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("-out: cannot write in %s: %w (pick a folder you can write)", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("-out %s: %w: another %s is writing there; wait for it to end, or give this one another -out", dir, ErrBusy, what)
		}
		return nil, fmt.Errorf("-out: lock %s: %w", dir, err)
	}
	return f, nil
}
