package rie

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// sandboxUID and sandboxGID are the user and group AWS's emulator runs the runtime and the
// extensions as on Lambda Managed Instances (its local process supervisor's default credential).
const sandboxUID, sandboxGID = 993, 990

// placeExecutable puts the executable src at dst, readable and executable by everyone: a hard link
// when src is on the same file system and already so, a copy otherwise.
func placeExecutable(src, dst string) error {
	src, err := filepath.EvalSymlinks(src) // a hard link to a symbolic link would still point away
	if err != nil {
		return err
	}
	if st, err := os.Stat(src); err == nil && st.Mode().Perm()&0o555 == 0o555 {
		if os.Link(src, dst) == nil {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
