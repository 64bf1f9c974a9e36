package initramfs

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ModuleName normalises a module file or name: "kernel/x/kvm-amd.ko.xz"
// and "kvm_amd" both become "kvm_amd".
func ModuleName(s string) string {
	s = path.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// depGraph knows each module's file and how to find its direct dependencies.
type depGraph struct {
	files map[string]string                   // module name -> file
	deps  func(name string) ([]string, error) // module name -> dependency names
}

// LoadOrder reads a modules.dep file and returns the module files (paths
// relative to the modules directory) that loading the named modules needs,
// dependencies before the modules that use them, each once.
func LoadOrder(modulesDep []byte, names ...string) ([]string, error) {
	depFiles := map[string][]string{}
	g := depGraph{files: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(modulesDep))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep: malformed line %q", line)
		}
		n := ModuleName(file)
		g.files[n] = file
		depFiles[n] = strings.Fields(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	g.deps = func(n string) ([]string, error) {
		var out []string
		for _, f := range depFiles[n] {
			out = append(out, ModuleName(f))
		}
		return out, nil
	}
	return g.order(names)
}

// LoadOrderFromDir is LoadOrder for an unpacked modules directory
// (lib/modules/VERSION). It uses modules.dep when present; a kernel package
// as shipped has none (depmod writes it at install time), and then the
// dependencies come from each module's .modinfo section.
func LoadOrderFromDir(dir string, names ...string) ([]string, error) {
	if dep, err := os.ReadFile(filepath.Join(dir, "modules.dep")); err == nil {
		return LoadOrder(dep, names...)
	}
	g := depGraph{files: map[string]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			rel, _ := filepath.Rel(dir, p)
			g.files[ModuleName(rel)] = rel
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w", err)
	}
	g.deps = func(n string) ([]string, error) {
		return modinfoDepends(filepath.Join(dir, g.files[n]))
	}
	return g.order(names)
}

// modinfoDepends reads the "depends=" entry of a module's .modinfo section.
func modinfoDepends(file string) ([]string, error) {
	if !strings.HasSuffix(file, ".ko") {
		return nil, fmt.Errorf("module %s is compressed: run depmod to write modules.dep", file)
	}
	f, err := elf.Open(file)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", file, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo section", file)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", file, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var out []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					out = append(out, ModuleName(d))
				}
			}
			return out, nil
		}
	}
	return nil, nil
}

// order visits the named modules depth-first, dependencies first.
func (g depGraph) order(names []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, chain []string) error
	visit = func(n string, chain []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("kernel modules: dependency cycle %s", strings.Join(append(chain, n), " -> "))
		case 2:
			return nil
		}
		file, ok := g.files[n]
		if !ok {
			if len(chain) == 0 {
				return fmt.Errorf("module %s not found (built into the kernel, or misspelled?)", n)
			}
			return fmt.Errorf("module %s (needed by %s) not found", n, chain[len(chain)-1])
		}
		state[n] = 1
		deps, err := g.deps(n)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, append(chain, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, file)
		return nil
	}
	for _, n := range names {
		if err := visit(ModuleName(n), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
