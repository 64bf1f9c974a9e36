package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// WithLibraries returns the programs' absolute paths (symlinks resolved
// as the guest path stays the host path) followed by every shared library
// ldd says they load, the dynamic loader included, so dynamically linked
// host programs (crun, runc) run in the outer guest at the same paths.
func WithLibraries(programs ...string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range programs {
		path, err := exec.LookPath(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if path, err = filepath.Abs(path); err != nil {
			return nil, err
		}
		out = append(out, path)
		ldd, err := exec.Command("ldd", path).Output()
		if err != nil {
			if bytes.Contains(ldd, []byte("not a dynamic executable")) || len(ldd) == 0 {
				continue // static
			}
			return nil, fmt.Errorf("ldd %s: %w", path, err)
		}
		libs, err := parseLDD(ldd)
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", path, err)
		}
		for _, l := range libs {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	sort.Strings(out[len(programs):])
	return out, nil
}

// parseLDD takes the library paths from ldd's output: "name => /path
// (addr)" lines and the loader's "/lib64/ld-linux-x86-64.so.2 (addr)".
func parseLDD(out []byte) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
			return nil, fmt.Errorf("library %s not found", f[0])
		}
	}
	return libs, nil
}
