package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// vmm image import, ls, inspect and rm, as a user types them.
func TestImageCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("vmm image import unpacks layers, which needs root; the project's machines and CI run tests as root")
	}
	t.Setenv("VMM_STORE", filepath.Join(t.TempDir(), "store"))
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "bin/sh", Mode: 0o755, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("#!"))
	tw.Close()
	os.WriteFile(rootfs, b.Bytes(), 0o644)

	run := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := dispatch(append([]string{"image"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, _ := run("ls"); code != 0 || strings.TrimSpace(out) != "NAME  ID  SIZE" {
		t.Errorf("ls of an empty store: %d %q", code, out)
	}
	if code, _, errs := run("import", rootfs); code != 1 || !strings.Contains(errs, "--name") || strings.Count(errs, "\n") != 1 {
		t.Errorf("import with no name: %d %q", code, errs)
	}
	code, out, errs := run("import", rootfs, "--name", "vmm.local/tiny")
	if code != 0 || !regexp.MustCompile(`^vmm.local/tiny:latest sha256:[0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	if code, out, _ := run("import", rootfs, "--name", "vmm.local/tiny"); code != 0 || !strings.HasPrefix(out, "vmm.local/tiny:latest ") {
		t.Errorf("the same import again: %d %q", code, out)
	}
	if code, out, _ := run("ls"); code != 0 || !regexp.MustCompile(`(?m)^vmm.local/tiny:latest  [0-9a-f]{12}  [0-9.]+kB$`).MatchString(out) {
		t.Errorf("ls: %d %q", code, out)
	}
	code, out, _ = run("ls", "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["layers"] != 1.0 {
		t.Errorf("ls --json: %d %q", code, out)
	}
	if code, out, _ := run("inspect", "vmm.local/tiny"); code != 0 || !strings.Contains(out, `"shared_with": 0`) || !strings.Contains(out, `"architecture": "amd64"`) {
		t.Errorf("inspect: %d %q", code, out)
	}
	if code, _, errs := run("inspect", "nosuch"); code != 1 || !strings.Contains(errs, "no such image") {
		t.Errorf("inspect of an unknown image: %d %q", code, errs)
	}
	if code, _, _ := run("rm", "vmm.local/tiny"); code != 0 {
		t.Errorf("rm: %d", code)
	}
	if code, _, errs := run("rm", "vmm.local/tiny"); code != 1 || !strings.Contains(errs, "no such image") {
		t.Errorf("rm again: %d %q", code, errs)
	}
	if code, _, _ := run("ls", "extra"); code != 2 {
		t.Errorf("ls extra: %d", code)
	}
}
