package e2e

import (
	"context"
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
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, "sh", "-c", c.Shell)
				cmd.Env, cmd.Dir = env, t.TempDir()
				return cmd.CombinedOutput()
			}
			tr := startKVMTrace(t)
			out, err := run()
			if err != nil && strings.Contains(string(out), "triple-faulted") && tr.deliveryFaults(t) > 0 {
				// the nested lab's known fault, as in lab.boot: said, and run once more
				t.Logf("a guest triple-faulted while KVM delivered an event to it (the nested lab's known fault); the outer kernel's last KVM events:\n%s\nrunning the command once more", tr.shutdownTail(t, 40))
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
