package outlock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	first, err := Lock(dir, "sim")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir, "sim"); !errors.Is(err, ErrBusy) {
		t.Errorf("second lock: %v, want ErrBusy", err)
	}
	first.Close()
	again, err := Lock(dir, "sim")
	if err != nil {
		t.Fatalf("after the first released it: %v", err)
	}
	again.Close()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(filepath.Join(file, "out"), "sim"); err == nil {
		t.Error("a folder under a file was locked")
	}
}
