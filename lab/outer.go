package lab

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmmlab/vmm/initramfs"
)

//go:embed outer-init.sh
var outerInit []byte

// Outer describes the outer guest's initramfs.
type Outer struct {
	Busybox string   // a statically linked busybox
	Kernel  Kernel   // modules come from here
	Modules []string // module names the outer guest loads, e.g. kvm_amd
	// ModuleParams maps a module name (e.g. "kvm") to the parameters insmod
	// passes it (e.g. "nx_huge_pages=never").
	ModuleParams map[string]string
	// Tests maps a name (e.g. "kvm.test") to a statically linked
	// `go test -c` binary; the guest runs each with -test.v.
	Tests map[string]string
	// Runs maps a test binary's name to its -test.run expression (the
	// lab tests it holds); LAB_TEST_RUN in Env overrides it.
	Runs map[string]string
	// Files maps a guest path under /lab (e.g. "bzImage") to a host file.
	Files map[string]string
	// HostFiles are host files copied to the same absolute paths in the
	// guest (programs and their libraries; see WithLibraries).
	HostFiles []string
	// Env is exported to every test (VMM_LAB=1 is always set).
	Env map[string]string
	// TestTimeoutSeconds bounds each test binary inside the guest.
	TestTimeoutSeconds int
	// TestStallSeconds stops a test binary whose output has stopped this
	// long (/lab/testwatch; 0: DefaultTestStall).
	TestStallSeconds int
}

// Write builds the outer initramfs and writes it gzip-compressed to w.
func (o Outer) Write(w io.Writer) error {
	if err := initramfs.CheckStatic(o.Busybox); err != nil {
		return fmt.Errorf("busybox: %w (install busybox-static)", err)
	}
	var a initramfs.Archive
	steps := []error{
		a.AddFileFrom("bin/busybox", o.Busybox),
		a.AddFile("init", 0o755, outerInit),
		a.AddCharDev("dev/console", 0o600, 5, 1),
		a.AddDir("proc", 0o755),
		a.AddDir("sys", 0o755),
		a.AddDir("tmp", 0o1777),
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	if err := o.addModules(&a); err != nil {
		return err
	}
	names := make([]string, 0, len(o.Tests))
	for name := range o.Tests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := initramfs.CheckStatic(o.Tests[name]); err != nil {
			return fmt.Errorf("test binary %s: %w (build with CGO_ENABLED=0)", name, err)
		}
		if err := a.AddFileFrom(path.Join("lab/tests", name), o.Tests[name]); err != nil {
			return err
		}
		if run := o.Runs[name]; run != "" {
			if err := a.AddFile(path.Join("lab/runs", name), 0o644, []byte(run)); err != nil {
				return err
			}
		}
	}
	for _, host := range o.HostFiles {
		if !filepath.IsAbs(host) {
			return fmt.Errorf("host file %s: not an absolute path", host)
		}
		if err := a.AddFileFrom(strings.TrimPrefix(filepath.Clean(host), "/"), host); err != nil {
			return err
		}
	}
	for guest, host := range o.Files {
		if err := a.AddFileFrom(path.Join("lab", guest), host); err != nil {
			return err
		}
	}
	env, err := o.envFile()
	if err != nil {
		return err
	}
	if err := a.AddFile("lab/env", 0o644, env); err != nil {
		return err
	}
	return a.WriteGzip(w)
}

func (o Outer) addModules(a *initramfs.Archive) error {
	order, err := initramfs.LoadOrderFromDir(o.Kernel.ModulesDir, o.Modules...)
	if err != nil {
		return err
	}
	var list bytes.Buffer
	seen := map[string]bool{}
	for _, rel := range order {
		data, err := readModule(filepath.Join(o.Kernel.ModulesDir, rel))
		if err != nil {
			return err
		}
		name := initramfs.ModuleName(rel) + ".ko"
		if seen[name] {
			return fmt.Errorf("two modules named %s", name)
		}
		seen[name] = true
		if err := a.AddFile("lab/mod/"+name, 0o644, data); err != nil {
			return err
		}
		line := name
		if p := o.ModuleParams[initramfs.ModuleName(rel)]; p != "" {
			if strings.ContainsAny(p, "\n'\"\\$`;&|<>") {
				return fmt.Errorf("module %s: parameters %q: only plain name=value words", name, p)
			}
			line += " " + p
		}
		fmt.Fprintln(&list, line)
	}
	return a.AddFile("lab/modules.order", 0o644, list.Bytes())
}

// readModule returns a module's ELF image, decompressing .ko.xz/.ko.zst
// (busybox insmod wants the plain object).
func readModule(p string) ([]byte, error) {
	var tool string
	switch {
	case strings.HasSuffix(p, ".ko"):
		return os.ReadFile(p)
	case strings.HasSuffix(p, ".xz"):
		tool = "xz"
	case strings.HasSuffix(p, ".zst"):
		tool = "zstd"
	default:
		return nil, fmt.Errorf("module %s: unknown compression", p)
	}
	out, err := exec.Command(tool, "-dc", p).Output()
	if err != nil {
		return nil, fmt.Errorf("decompress module %s with %s: %w", p, tool, err)
	}
	return out, nil
}

func (o Outer) envFile() ([]byte, error) {
	stall := o.TestStallSeconds
	if stall <= 0 {
		stall = int(DefaultTestStall.Seconds())
	}
	env := map[string]string{"VMM_LAB": "1", "LAB_TEST_TIMEOUT": fmt.Sprint(o.TestTimeoutSeconds), "LAB_TEST_STALL": fmt.Sprint(stall)}
	for k, v := range o.Env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		if strings.ContainsAny(env[k], "'\n") || !isIdent(k) {
			return nil, fmt.Errorf("lab environment %s=%q: not representable", k, env[k])
		}
		fmt.Fprintf(&b, "export %s='%s'\n", k, env[k])
	}
	return b.Bytes(), nil
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
