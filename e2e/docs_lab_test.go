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
	env := append(os.Environ(), "KERNEL="+l.kernel, "MICRO="+micro, "PATH="+filepath.Dir(l.vmm)+":"+os.Getenv("PATH"))
	for _, c := range cmds {
		t.Run(fmt.Sprintf("%s:%d", c.Page, c.Line), func(t *testing.T) {
			run := func() ([]byte, error) {
				// A page's command takes under a minute in the lab. The
				// limit stays under the lab's five silent minutes, and
				// ends the whole process group with SIGTERM, so that a vmm
				// still running prints its stop report (where its vCPUs
				// were) instead of holding the output pipe open forever.
				ctx, cancel := context.WithTimeout(context.Background(), docsCommandLimit)
				defer cancel()
				cmd := exec.CommandContext(ctx, "sh", "-c", c.Shell)
				cmd.Env, cmd.Dir = env, t.TempDir()
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
				cmd.WaitDelay = 30 * time.Second
				return cmd.CombinedOutput()
			}
			tr := startKVMTrace(t)
			out, err := run()
			switch {
			case err != nil && strings.Contains(string(out), "triple-faulted") && tr.deliveryFaults(t) > 0:
				// the nested lab's known fault, as in lab.boot: said, and run once more
				t.Logf("a guest triple-faulted while KVM delivered an event to it (the nested lab's known fault); the outer kernel's last KVM events:\n%s\nrunning the command once more", tr.shutdownTail(t, 40))
				out, err = run()
			case err != nil && cr3OutsideRAM.Match(out):
				// the nested lab's other known fault, as in TestTwentyVMsAtOnce
				t.Logf("the guest was stuck with CR3 outside its RAM (not a state vmm can cause; the nested lab's, as far as known):\n%s\nrunning the command once more", stopReport(string(out)))
				out, err = run()
			}
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
