package vmrun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vmmlab/vmm/runresult"
)

// IO are the caller's streams.
type IO struct {
	Stdin          io.Reader // read only with Config.Interactive
	Stdout, Stderr io.Writer
}

// Run boots the VM for cfg through vmm boot, joins the process's
// streams to the caller's, relays SIGINT and SIGTERM to it (powering
// the VM off StopTimeout after the first), and returns how it ended.
// An error is a failure before the VM started.
func Run(ctx context.Context, cfg Config, stdio IO) (Result, error) {
	dir, err := os.MkdirTemp("", "vmm-run-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	f := files{initrd: filepath.Join(dir, "initrd.cpio"), vsock: filepath.Join(dir, "vsock")}
	if err := writeInitrd(f.initrd, cfg); err != nil {
		return Result{}, err
	}
	args, err := bootArgs(cfg, f)
	if err != nil {
		return Result{}, err
	}
	var stdin io.Reader
	if cfg.Interactive {
		stdin = stdio.Stdin
	}
	st, err := listen(f.vsock, stdin, stdio.Stdout, stdio.Stderr)
	if err != nil {
		return Result{}, err
	}
	defer st.close()
	vmmErr := &tailBuffer{max: 64 << 10}
	cmd := exec.Command(cfg.VMM, args...)
	// its own process group: a terminal's ^C reaches vmm run, which
	// relays it to the process, not vmm boot, which would stop the VM
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Stdout, cmd.Stderr = io.Discard, vmmErr
	if cfg.Net != nil {
		cmd.ExtraFiles = []*os.File{cfg.Net.Tap} // fd 3
	}
	if cfg.Verbose {
		cmd.Stdout, cmd.Stderr = stdio.Stderr, io.MultiWriter(stdio.Stderr, vmmErr)
	}
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("vmm boot: %w", err)
	}
	if cfg.Process.Terminal {
		defer followTerminal(st, stdio.Stdin, stdio.Stdout, cfg.Interactive)()
	}
	exited := make(chan struct{})
	stopped := relay(ctx, cmd.Process, st, cfg.StopTimeout, exited)
	werr := cmd.Wait()
	close(exited)
	st.close()
	st.wait()
	return result(werr, vmmErr.Bytes(), <-stopped), nil
}

// relay sends SIGINT and SIGTERM (and the end of ctx, as SIGTERM) to the
// process; StopTimeout after the first, it stops vmm, which powers the
// VM off. The channel says, once vmm has exited (exited is closed),
// whether that happened.
func relay(ctx context.Context, vmm *os.Process, st *streams, timeout time.Duration, exited <-chan struct{}) <-chan bool {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	out := make(chan bool, 1)
	go func() {
		defer signal.Stop(sigs)
		var deadline <-chan time.Time
		done := ctx.Done()
		for {
			select {
			case s := <-sigs:
				st.signal(s.(syscall.Signal))
			case <-done:
				st.signal(syscall.SIGTERM)
				done = nil
			case <-deadline:
				vmm.Signal(syscall.SIGTERM)
				<-exited
				out <- true
				return
			case <-exited:
				out <- false
				return
			}
			if deadline == nil {
				deadline = time.After(timeout)
			}
		}
	}()
	return out
}

// result reads how vmm boot ended.
func result(werr error, vmmStderr []byte, stopped bool) Result {
	r := Result{ExitCode: ExitOwnFailure, Stopped: stopped}
	vm, err := runresult.Parse(vmmStderr)
	if err == nil {
		r.VM = &vm
	}
	switch {
	case err == nil && vm.Status != nil:
		r.ExitCode, r.Started = *vm.Status, true
	case stopped:
		r.ExitCode, r.Problem = ExitKilled, "the process did not stop in time: the VM was powered off"
	case err == nil:
		r.Problem = fmt.Sprintf("the VM ended (%s) before the process did: %s", vm.Reason, vm.Detail)
		if vm.HostProblem != "" {
			r.Problem += " (" + vm.HostProblem + ")"
		}
	default:
		r.Problem = fmt.Sprintf("vmm boot failed (%v): %s", werr, lastLines(vmmStderr, 3))
	}
	return r
}

// lastLines is the last n lines of b, joined with "; ".
func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("; ")))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return t.b }
