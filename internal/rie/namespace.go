package rie

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// isolateScript runs as PID 1 of the emulator's new PID namespace, inside its new mount namespace
// (private propagation: nothing here is seen by the host), and then becomes the emulator. $1 is the
// Emulator's directory, $2 the mount command, then the emulator's command line. /opt and /var become
// overlays whose upper layers live on a tmpfs of the namespace, so the mount points
// /opt/extensions, /var/runtime and /var/task exist without being created on the host; the
// Emulator's own directories are then bound there, which hides whatever the host has in them.
const isolateScript = `set -u
d=$1 mnt=$2; shift 2
fail() { echo "rie-isolate: $*" >&2; exit ` + isolateFailed + `; }
$mnt -t proc proc /proc || fail "mount /proc"
$mnt -t tmpfs -o mode=0755 rie "$d/ovl" || fail "mount a tmpfs"
mkdir -p "$d/ovl/opt/extensions" "$d/ovl/opt.work" "$d/ovl/var/runtime" "$d/ovl/var/task" "$d/ovl/var.work" || fail mkdir
$mnt -t overlay overlay -o "lowerdir=/opt,upperdir=$d/ovl/opt,workdir=$d/ovl/opt.work" /opt || fail "overlay /opt"
$mnt -t overlay overlay -o "lowerdir=/var,upperdir=$d/ovl/var,workdir=$d/ovl/var.work" /var || fail "overlay /var"
$mnt --bind "$d/extensions" /opt/extensions || fail "bind /opt/extensions"
$mnt --bind "$d/runtime" /var/runtime || fail "bind /var/runtime"
$mnt --bind "$d/task" /var/task || fail "bind /var/task"
cd /var/task
exec "$@"
`

// isolateFailed is isolateScript's exit code when it could not lay out the namespace.
const isolateFailed = "97"

// isolated returns the command that runs binary with args and env in private mount and PID
// namespaces laid out by isolateScript. As root it needs nothing more; otherwise it asks for a user
// namespace in which the caller is root.
func isolated(dir, binary string, args, env []string) (*exec.Cmd, error) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("rie: %w", err)
	}
	mnt, err := exec.LookPath("mount")
	if err != nil {
		return nil, fmt.Errorf("rie: the mount command (util-linux) is needed to give AWS's emulator its own /opt/extensions: %w", err)
	}
	cmd := exec.Command(sh, append([]string{"-c", isolateScript, "rie-isolate", dir, mnt, binary}, args...)...)
	cmd.Env = env
	attr := &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS, // Go then makes every mount private to the namespace
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
	}
	if uid := os.Getuid(); uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	return cmd, nil
}

// privilegeHint adds what to do to an error from laying out the namespace.
func privilegeHint(err error) error {
	return fmt.Errorf("%w\nAWS's emulator reads extensions only from /opt/extensions (and, on Lambda Managed Instances, the runtime from /var/runtime), "+
		"so each Emulator gets its own in a private mount namespace: that needs root (CAP_SYS_ADMIN; in a container, --privileged) "+
		"or, for the default model only, unprivileged user namespaces with overlayfs (Linux 5.11+, user.max_user_namespaces > 0)", err)
}
