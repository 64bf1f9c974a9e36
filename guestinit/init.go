package guestinit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/boottimer"
	"github.com/vmmlab/vmm/devices/exitstatus"
)

// ModulesList is the file in the image that lists the modules to load,
// one path per line, dependencies first.
const ModulesList = "/etc/vmm/modules"

// ShellMarker, when present in the image, makes the init start the shell
// after the workload instead of powering off.
const ShellMarker = "/etc/vmm/shell"

// shells are tried in order when no workload is given.
func shells() []string { return []string{"/bbin/gosh", "/bin/gosh", "/bin/sh"} }

const path = "/bin:/sbin:/usr/bin:/usr/sbin:/bbin"

// Main runs the init and powers the VM off. It never returns while it runs
// as PID 1 (returning would panic the kernel).
func Main() {
	con := os.Stdout
	os.Setenv("PATH", path)
	mountPseudoFS(con)
	cmdline, err := os.ReadFile("/proc/cmdline")
	loadModules(con, ModulesList, string(cmdline))
	var task Task
	if err == nil {
		task, err = ParseCmdline(string(cmdline))
	}
	var proc *Process
	if err == nil {
		proc, err = readProcess(ProcessFile) // before the initramfs is freed
	}
	if err == nil && task.Root != nil {
		err = switchRoot(con, task)
	}
	if err == nil {
		writeIdentity(con, task.Hostname)
	}
	signalBooted(con)
	status, mounted := 2, []string(nil)
	switch {
	case err != nil:
		logf(con, "%v", err)
		if proc != nil || errors.Is(err, errProcess) {
			status = StatusOwnFailure
		}
	case proc != nil && task.IP.IsValid():
		if err := configureNetwork("eth0", task.IP, task.GW); err != nil {
			logf(con, "%v", err)
			status = StatusOwnFailure
			break
		}
		status = runProcess(con, proc)
	case proc != nil:
		status = runProcess(con, proc)
	default:
		status, mounted = run(con, task)
	}
	unmountAll(con, mounted)
	reportStatus(con, status)
	powerOff(con)
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "vmm-init: "+format+"\n", args...)
}

func mountPseudoFS(con io.Writer) {
	for _, m := range []struct{ src, target, fstype string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"},
		{"devpts", "/dev/pts", "devpts"}, {"tmpfs", "/tmp", "tmpfs"}, {"tmpfs", "/run", "tmpfs"},
	} {
		os.MkdirAll(m.target, 0o755)
		if err := unix.Mount(m.src, m.target, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			logf(con, "mount %s on %s: %v", m.fstype, m.target, err)
		}
	}
}

// loadModules loads every module in the list with finit_module. A module
// that fails is reported with the reason and skipped; a kernel without
// module support (ENOSYS: a minimal kernel with its drivers built in) is
// reported once.
func loadModules(con io.Writer, list, cmdline string) {
	f, err := os.Open(list)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		logf(con, "modules: %v", err)
		return
	}
	defer f.Close()
	loaded, failed := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" {
			continue
		}
		err := loadModule(p, ModuleParams(cmdline, strings.TrimSuffix(filepath.Base(p), ".ko")))
		if errors.Is(err, unix.ENOSYS) {
			logf(con, "the kernel has no module support: not loading the image's modules (its drivers must be built in)")
			return
		}
		if err != nil {
			failed++
			logf(con, "module %s: %v", filepath.Base(p), err)
			continue
		}
		loaded++
	}
	if failed > 0 {
		logf(con, "loaded %d modules, %d failed", loaded, failed)
	}
}

// loadModule loads the module in file p with params (what the kernel
// command line gives it, as modprobe would).
func loadModule(p, params string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), params, 0)
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
		return nil
	case errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w (built for another kernel version?)", err)
	}
	return err
}

// signalBooted writes the boot timer's magic value through /dev/port.
func signalBooted(con io.Writer) {
	if err := writePort(boottimer.Port, boottimer.MagicValue); err != nil {
		logf(con, "boot timer: %v", err)
	}
}

func reportStatus(con io.Writer, status int) {
	if err := writePort(exitstatus.Port, byte(status)); err != nil {
		logf(con, "exit status port: %v", err)
	}
}

func writePort(port int64, v byte) error {
	f, err := os.OpenFile("/dev/port", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt([]byte{v}, port)
	return err
}

// run carries out the task on the command line and returns the status to
// report (the workload's exit status, or the shell's) and the mount points
// it mounted, which must be unmounted before powering off.
func run(con *os.File, task Task) (status int, mounted []string) {
	if _, err := os.Stat(ShellMarker); err == nil {
		task.Shell = true // the image was built with --shell
	}
	for _, m := range task.Mounts {
		os.MkdirAll(m.Target, 0o755)
		err := unix.Mount(m.Source, m.Target, m.FSType, 0, m.Options)
		if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) {
			err = unix.Mount(m.Source, m.Target, m.FSType, unix.MS_RDONLY, m.Options) // a read-only disk
		}
		if err != nil {
			logf(con, "mount %s on %s (%s %s): %v", m.Source, m.Target, m.FSType, m.Options, err)
			return 2, mounted
		}
		mounted = append(mounted, m.Target)
	}
	if task.IP.IsValid() {
		if err := configureNetwork("eth0", task.IP, task.GW); err != nil {
			logf(con, "network: %v", err)
			return 2, mounted
		}
	}
	if task.Run != "" {
		status = runWorkload(con, task)
	}
	switch {
	case task.Run != "" && !task.Shell:
	case task.Lines:
		status = runLines(con)
	default:
		status = runShell(con)
	}
	return status, mounted
}

// unmountAll unmounts in reverse order, so that file systems are clean
// (journals replayed) when the VM powers off; one that is busy is at least
// remounted read-only.
func unmountAll(con io.Writer, targets []string) {
	unix.Sync()
	for i := len(targets) - 1; i >= 0; i-- {
		if err := unix.Unmount(targets[i], 0); err != nil {
			if rerr := unix.Mount("", targets[i], "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); rerr != nil {
				logf(con, "unmount %s: %v; remount read-only: %v", targets[i], err, rerr)
			}
		}
	}
}

func runWorkload(con *os.File, task Task) int {
	cmd := exec.Command(task.Run, task.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = con, con, con
	start := time.Now()
	if task.MemReport > 0 {
		go reportMemoryAfter(con, time.Duration(task.MemReport)*time.Second)
	}
	err := cmd.Run()
	status := exitCode(err)
	if status < 0 {
		logf(con, "workload %s: %v", task.Run, err)
		return 127
	}
	logf(con, "workload %s exited with status %d after %v", task.Run, status, time.Since(start).Round(time.Millisecond))
	return status
}

// exitCode maps a finished command to a shell-style status; -1 when it
// never started.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

func runShell(con *os.File) int {
	for _, sh := range shells() {
		if _, err := os.Stat(sh); err != nil {
			continue
		}
		logf(con, "starting shell %s", sh)
		cmd := exec.Command(sh)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = con, con, con
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		return exitCode(cmd.Run())
	}
	logf(con, "no shell found (tried %s)", strings.Join(shells(), ", "))
	return 127
}

func powerOff(con io.Writer) {
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	logf(con, "power off failed: %v", err)
	for {
		time.Sleep(time.Hour)
	}
}
