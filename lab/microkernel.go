package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MicroKernel builds (or finds in cacheDir/kbuild) vmm's minimal guest
// kernel with the script at script (guestkernel/build.sh) and returns the
// bzImage's path. The build's own output goes to log. A cold build takes
// 10-20 minutes on two cores; later runs reuse the cached image.
func MicroKernel(ctx context.Context, script, cacheDir string, log io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(os.Environ(), "CACHE="+filepath.Join(cacheDir, "kbuild"))
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("minimal guest kernel (%s): %w (make deps installs the build tools and linux-source)", script, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	path := lines[len(lines)-1]
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return "", fmt.Errorf("minimal guest kernel: %s printed %q, not a bzImage path", script, path)
	}
	return path, nil
}
