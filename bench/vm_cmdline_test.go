package bench

import (
	"strings"
	"testing"

	"github.com/vmmlab/vmm/guestinit"
)

// The guest's task goes on its command line through guestinit, and
// comes back from it as the bench asked.
func TestWorkloadCmdline(t *testing.T) {
	s := Spec{Workload: "http", Args: []string{"-port", "8080"}}
	for _, c := range []struct {
		root       rootDisk
		addr, gw   string
		kernelPart string
	}{
		{diskRoot(), "", "", "root=/dev/vda ro rootfstype=ext4 init=/init"},
		{initrdRoot(), "10.0.2.5/24", "10.0.2.1", ""},
	} {
		line, err := workloadCmdline(c.root, s, c.addr, c.gw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, guestCmdline+" ") || !strings.Contains(line, c.kernelPart) {
			t.Errorf("%q lacks the common part or %q", line, c.kernelPart)
		}
		task, err := guestinit.ParseCmdline(line)
		if err != nil || task.Run != "/bin/http" || strings.Join(task.Args, " ") != "-port 8080" || (task.Root != nil) != (c.root.init != nil) ||
			c.addr != "" && task.IP.String() != c.addr {
			t.Errorf("%q parsed as %+v, %v", line, task, err)
		}
	}
	if _, err := workloadCmdline(diskRoot(), Spec{Workload: "http", Args: []string{"two words"}}, "", ""); err == nil {
		t.Error("an argument with a space made a command line")
	}
}
