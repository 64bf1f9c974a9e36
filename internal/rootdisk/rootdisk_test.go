package rootdisk

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMake(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("needs mkfs.ext4 (e2fsprogs, which make deps installs)")
	}
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("needs debugfs (e2fsprogs)")
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for _, d := range []string{"bin", "proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tree, "bin", "hello"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "root.ext4")
	if err := Make(context.Background(), tree, img); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("debugfs", "-R", "cat /bin/hello", img).Output()
	if err != nil || string(out) != "#!/bin/sh\necho hi\n" {
		t.Fatalf("the disk's /bin/hello: %q %v", out, err)
	}
	// fit for --pmem and a DAX mount: whole 2 MiB, 4 KiB blocks
	if st, err := os.Stat(img); err != nil || st.Size()%(2<<20) != 0 {
		t.Errorf("the disk is %d bytes, not whole 2 MiB (%v)", st.Size(), err)
	}
	if stats, err := exec.Command("debugfs", "-R", "stats", img).Output(); err != nil || !strings.Contains(string(stats), "Block size:               4096") {
		t.Errorf("the disk's block size is not 4 KiB: %v\n%s", err, stats)
	}
	ls, err := exec.Command("debugfs", "-R", "ls -l /", img).Output()
	if err != nil || !strings.Contains(string(ls), "proc") || !strings.Contains(string(ls), "dev") {
		t.Errorf("root directory of the disk: %s %v", ls, err)
	}
	if err := Make(context.Background(), filepath.Join(dir, "missing"), img); err == nil {
		t.Error("a missing tree made a disk")
	}
}
