package vmrun

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/initramfs"
)

// writeInitrd writes the run's initramfs to path (WriteInitrd).
func writeInitrd(path string, cfg Config) error {
	return WriteInitrd(path, cfg.Initrd, cfg.VMMInit, cfg.Process)
}

// WriteInitrd writes an initramfs for process p to path (a new file):
// the base initramfs or, when base is "", an archive holding only the
// static vmmInit as /init, followed by a cpio segment with p as
// /vmm/process.json. The kernel unpacks concatenated archives in order,
// so the base is copied as it is (copy_file_range: often no data moves)
// and never rebuilt.
func WriteInitrd(path, base, vmmInit string, p specs.Process) error {
	seg, err := processArchive(p, base == "", vmmInit)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	err = appendBase(out, base)
	if err == nil {
		_, err = seg.WriteTo(out)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// processArchive is the cpio segment with the process, and /init when
// withInit (no base initramfs carries it).
func processArchive(p specs.Process, withInit bool, vmmInit string) (*initramfs.Archive, error) {
	a := &initramfs.Archive{}
	if withInit {
		var err error
		if a, err = (initramfs.Image{Init: vmmInit}).Compose(a); err != nil {
			return nil, fmt.Errorf("initramfs: %w", err)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := a.AddFile(strings.TrimPrefix(guestinit.ProcessFile, "/"), 0o644, b); err != nil {
		return nil, err
	}
	return a, nil
}

// appendBase copies the base initramfs to out and pads it to four
// bytes, where the kernel looks for the next archive.
func appendBase(out *os.File, base string) error {
	if base == "" {
		return nil
	}
	in, err := os.Open(base)
	if err != nil {
		return err
	}
	defer in.Close()
	n, err := io.Copy(out, in)
	if err != nil {
		return err
	}
	if pad := (4 - n%4) % 4; pad > 0 {
		_, err = out.Write(make([]byte, pad))
	}
	return err
}
