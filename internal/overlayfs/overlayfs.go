// Package overlayfs mounts directories of layers as one overlayfs: the
// option string, its checks and its size limit, for the two places that
// stack an image's layers (a container's root, an image's ext4).
package overlayfs

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// maxData is what the kernel takes of a mount's options (a page).
const maxData = 4095

// Mount mounts at target an overlayfs of lower (the bottom layer first)
// with, when upper is set, upper and work taking the writes. Without an
// upper layer overlayfs wants two lower ones. The paths must be absolute
// and hold no ':' or ',', which separate options.
func Mount(target string, lower []string, upper, work string, flags uintptr) error {
	if len(lower) == 0 || upper == "" && len(lower) < 2 {
		return fmt.Errorf("overlay: %d lower layers and no upper one", len(lower))
	}
	dirs := slices.Clone(lower)
	slices.Reverse(dirs) // overlayfs lists the top layer first
	for _, d := range append(slices.Clone(dirs), upper, work) {
		if d != "" && (strings.ContainsAny(d, ":,") || !filepath.IsAbs(d)) {
			return fmt.Errorf("overlay: layer %q: want an absolute path without ':' or ','", d)
		}
	}
	data := "lowerdir=" + strings.Join(dirs, ":")
	if upper != "" {
		data += ",upperdir=" + upper + ",workdir=" + work
	}
	if len(data) > maxData {
		return fmt.Errorf("overlay: %d layers make %d bytes of mount options, more than the kernel takes (%d)", len(lower), len(data), maxData)
	}
	if err := unix.Mount("overlay", target, "overlay", flags, data); err != nil {
		return fmt.Errorf("overlay: mount the layers: %w", err)
	}
	return nil
}
