package overlayfs

import (
	"strings"
	"testing"
)

// Layer lists the kernel would misread or refuse are refused before any
// mount is tried.
func TestMountRefuses(t *testing.T) {
	long := make([]string, 200)
	for i := range long {
		long[i] = "/var/lib/vmm/images/layers/" + strings.Repeat("ab", 32)
	}
	for name, c := range map[string]struct {
		lower       []string
		upper, want string
	}{
		"no layers":           {nil, "/u", "0 lower layers"},
		"one, read-only":      {[]string{"/a"}, "", "1 lower layers and no upper"},
		"a colon":             {[]string{"/a:b", "/c"}, "", "without ':'"},
		"a comma in upper":    {[]string{"/a"}, "/u,x", "without ':'"},
		"relative":            {[]string{"a", "/b"}, "", "absolute"},
		"too long for a page": {long, "", "more than the kernel takes"},
	} {
		if err := Mount(t.TempDir(), c.lower, c.upper, "/w", 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
