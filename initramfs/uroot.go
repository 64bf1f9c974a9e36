package initramfs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The Go module that builds the u-root userland: u-root's commands and the
// mkuimage tool, every version pinned by uroot.sum. It is written to a cache
// directory and built there, because mkuimage needs a module that requires
// the commands it compiles.
var (
	//go:embed uroot.mod
	urootMod []byte
	//go:embed uroot.sum
	urootSum []byte
)

const urootCmdPrefix = "github.com/u-root/u-root/cmds/"

// URootCommands lists the u-root commands every image carries (the tool
// entries of uroot.mod), e.g. github.com/u-root/u-root/cmds/core/gosh.
func URootCommands() []string {
	var cmds []string
	sc := bufio.NewScanner(bytes.NewReader(urootMod))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, urootCmdPrefix) {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// BuildURoot compiles the u-root commands into one busybox-style binary
// with mkuimage and returns them as an archive: /bbin/bb, a /bbin link per
// command, and /bin/sh pointing at gosh. cacheDir keeps the module, the
// mkuimage binary and the archive between builds; the archive is reused
// while the pinned modules and the Go version stay the same. It needs the
// Go toolchain.
func BuildURoot(ctx context.Context, cacheDir string, log io.Writer) (*Archive, error) {
	return buildURoot(ctx, cacheDir, log, true)
}

// buildURoot is BuildURoot; with reuse false it builds even when the
// archive is cached (to prove the build reproducible).
func buildURoot(ctx context.Context, cacheDir string, log io.Writer, reuse bool) (*Archive, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("building the u-root userland needs the Go toolchain (go 1.26 on PATH): %w", err)
	}
	sum := sha256.Sum256(append(append([]byte(nil), urootMod...), urootSum...))
	dir := filepath.Join(cacheDir, "uroot", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("u-root build directory: %w", err)
	}
	for name, data := range map[string][]byte{"go.mod": urootMod, "go.sum": urootSum} {
		if old, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(old, data) {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return nil, fmt.Errorf("u-root build directory: %w", err)
			}
		}
	}
	goVersion, err := exec.CommandContext(ctx, goBin, "env", "GOVERSION").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOVERSION: %w", err)
	}
	// The pinned modules and the toolchain determine the archive: reuse it.
	cached := filepath.Join(dir, "uroot-"+strings.TrimSpace(string(goVersion))+".cpio")
	if a, err := readArchive(cached); err == nil && reuse {
		return a, nil
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=mod")
	mkuimage := filepath.Join(dir, "mkuimage")
	if _, err := os.Stat(mkuimage); err != nil {
		if err := runTool(ctx, dir, env, log, goBin, "build", "-o", mkuimage, "github.com/u-root/mkuimage/cmd/mkuimage"); err != nil {
			return nil, fmt.Errorf("build mkuimage: %w", err)
		}
	}
	out, err := os.CreateTemp(dir, "uroot-*.cpio")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	args := append([]string{"-build=bb", "-format=cpio", "-base=/dev/null", "-initcmd=", "-defaultsh=gosh", "-o", out.Name()},
		URootCommands()...)
	if err := runTool(ctx, dir, env, log, mkuimage, args...); err != nil {
		return nil, fmt.Errorf("mkuimage: %w", err)
	}
	a, err := readArchive(out.Name())
	if err != nil {
		return nil, fmt.Errorf("reading mkuimage's archive: %w", err)
	}
	if err := os.Rename(out.Name(), cached); err != nil {
		return nil, fmt.Errorf("u-root cache: %w", err)
	}
	return a, nil
}

func readArchive(p string) (*Archive, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var a Archive
	if err := ReadNewc(f, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// runTool runs a build step, sending its output to log and quoting the end
// of it in the error.
func runTool(ctx context.Context, dir string, env []string, log io.Writer, name string, args ...string) error {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout = io.MultiWriter(&buf, log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		tail := buf.String()
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, tail)
	}
	return nil
}
