package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/docs"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// docsCommandLimit is how long one command of a page may run in the lab.
const docsCommandLimit = 150 * time.Second

// Every command in docs/ runs, as the pages show it (vmm on PATH,
// KERNEL and MICRO set as the docs say), and its output still contains
// what the page says it shows.
func TestDocsCommands(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	cmds, err := docs.Commands()
	if err != nil {
		t.Fatal(err)
	}
	// vmm on PATH is a wrapper that also copies vmm's stderr to a file:
	// a page may pipe vmm's output through grep, and the test still needs
	// vmm's stop report when a command fails.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "vmm"), []byte(vmmTee), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "KERNEL="+l.kernel, "MICRO="+micro, "VMM_REAL="+l.vmm, "PATH="+bin+":"+filepath.Dir(l.vmm)+":"+os.Getenv("PATH"))
	for _, c := range cmds {
		t.Run(fmt.Sprintf("%s:%d", c.Page, c.Line), func(t *testing.T) {
			stderrLog := filepath.Join(t.TempDir(), "vmm-stderr")
			run := func() ([]byte, error) {
				os.Remove(stderrLog)
				// A page's command takes under a minute in the lab. The
				// limit stays under the lab's five silent minutes, and
				// ends the whole process group with SIGTERM, so that a vmm
				// still running prints its stop report (where its vCPUs
				// were) instead of holding the output pipe open forever.
				ctx, cancel := context.WithTimeout(context.Background(), docsCommandLimit)
				defer cancel()
				cmd := exec.CommandContext(ctx, "sh", "-c", c.Shell)
				cmd.Env, cmd.Dir = append(env, "VMM_TEE_LOG="+stderrLog), t.TempDir()
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
				cmd.WaitDelay = 30 * time.Second
				out, err := cmd.CombinedOutput()
				if err != nil {
					// vmm may still be writing its stop report: wait for
					// the command's process group to be gone first.
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && syscall.Kill(-cmd.Process.Pid, 0) == nil; {
						time.Sleep(100 * time.Millisecond)
					}
					vmmErr, _ := os.ReadFile(stderrLog)
					out = append(out, "\n--- vmm's stderr:\n"+string(vmmErr)...)
				}
				return out, err
			}
			// The nested lab's known faults (labFault) are said in the log
			// and the command runs again, up to labTries times in all;
			// any other failure fails at once.
			out, err := retryOutput(t, startKVMTrace(t), "the command", labTries, run)
			if err != nil {
				t.Fatalf("%s\n%v\n%s", c.Shell, err, out)
			}
			for _, e := range c.Expect {
				if !strings.Contains(string(out), e) {
					t.Errorf("%s: the output no longer shows %q:\n%s", strings.TrimSpace(c.Shell), e, out)
				}
			}
		})
	}
}

// vmmTee runs the vmm at $VMM_REAL with its stderr also appended to
// $VMM_TEE_LOG. The copy ignores SIGTERM, which the test sends to the
// whole process group, so that vmm's stop report still gets through.
const vmmTee = `#!/bin/sh
fifo="$VMM_TEE_LOG.fifo.$$"
mkfifo "$fifo" || exit 125
(trap '' TERM INT PIPE; exec tee -a "$VMM_TEE_LOG" <"$fifo" >&2) &
"$VMM_REAL" "$@" 2>"$fifo"
rc=$?
wait
rm -f "$fifo"
exit $rc
`
