package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/docs"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// docsCommandLimit is how long one command of a page may run in the lab;
// microCommandLimit is that for a command that boots only the minimal
// kernel ($MICRO), which takes 7-14 s there, against 30-65 s for the
// Debian kernel's. A guest stuck in one of the nested lab's known faults
// runs until the limit, so a shorter limit where it is safe saves
// minutes per fault.
const (
	docsCommandLimit  = 150 * time.Second
	microCommandLimit = 60 * time.Second
)

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
			limit := docsCommandLimit
			if strings.Contains(c.Shell, "$MICRO") && !strings.Contains(c.Shell, "$KERNEL") {
				limit = microCommandLimit
			}
			run := func() ([]byte, error) {
				os.Remove(stderrLog)
				os.Remove(stderrLog + ".result")
				out, err := runLimited(limit, func(cmd *exec.Cmd) {
					cmd.Env, cmd.Dir = append(env, "VMM_TEE_LOG="+stderrLog), t.TempDir()
				}, "sh", "-c", c.Shell)
				if err != nil {
					out = append(out, "\n--- vmm's stderr:\n"+readFile(stderrLog)+"\n--- vmm's results:\n"+readFile(stderrLog+".result")...)
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
//
// A boot or restore also appends its result to $VMM_TEE_LOG
// (--result-file): what labFault reads.
const vmmTee = `#!/bin/sh
fifo="$VMM_TEE_LOG.fifo.$$"
mkfifo "$fifo" || exit 125
(trap '' TERM INT PIPE; exec tee -a "$VMM_TEE_LOG" <"$fifo" >&2) &
case "$1" in
boot|restore) sub=$1; shift; set -- "$sub" --result-file "$VMM_TEE_LOG.result" "$@" ;;
esac
"$VMM_REAL" "$@" 2>"$fifo"
rc=$?
wait
rm -f "$fifo"
exit $rc
`
