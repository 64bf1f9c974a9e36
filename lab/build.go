package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// labPackages lists the packages that have *_lab_test.go files.
func labPackages(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f",
		`{{.ImportPath}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, file := range f[1:] {
			if strings.HasSuffix(file, "_lab_test.go") {
				pkgs = append(pkgs, f[0])
				break
			}
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no package has *_lab_test.go files")
	}
	return pkgs, nil
}

// buildTests compiles each package's tests into a static binary named after
// its import path below the module (kvm.test, devices-virtio.test), and
// returns with each binary the -test.run expression of its lab tests.
func buildTests(ctx context.Context, pkgs []string, dir string) (tests, runs map[string]string, err error) {
	mod, err := exec.CommandContext(ctx, "go", "list", "-m").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go list -m: %w", err)
	}
	prefix := strings.TrimSpace(string(mod)) + "/"
	tests, runs = map[string]string{}, map[string]string{}
	for _, p := range pkgs {
		name := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(p, prefix), "./"), "/", "-") + ".test"
		out := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", out, p)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("go test -c %s: %w\n%s", p, err, b)
		}
		pkgDir, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", p).Output()
		if err != nil {
			return nil, nil, fmt.Errorf("go list %s: %w", p, err)
		}
		names, err := LabTests(strings.TrimSpace(string(pkgDir)))
		if err != nil {
			return nil, nil, err
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("package %s has no Test functions in *_lab_test.go files", p)
		}
		tests[name], runs[name] = out, RunPattern(names)
	}
	return tests, runs, nil
}

// StripFlags builds programs that go into guests and container roots
// without symbol table and DWARF: a third less to load.
const StripFlags = "-ldflags=-s -w"

// VMMFlags builds vmm with its Go heap off transparent huge pages (as
// make build does): with the host's THP "always", the heap of every VM
// process otherwise grows by megabytes of huge pages.
const VMMFlags = "-ldflags=-X=runtime.godebugDefault=disablethp=1 -X=main.heapTHPOff=1"

// GoBuild builds a static binary (the outer guest has no libraries).
func GoBuild(ctx context.Context, out, pkg string, flags ...string) error {
	args := append(append([]string{"build", "-trimpath", "-buildvcs=auto"}, flags...), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
