package memory

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// WindowAlign is what a file window's size must be a multiple of: the
// guest maps it as device memory in 2 MiB sub-sections.
const WindowAlign = 2 << 20

// ErrWindowInUse is a file another VM holds: writable, or read-only when
// this one wants to write it.
var ErrWindowInUse = errors.New("in use by another VM")

// Window is a host file mapped shared, to be given to the guest as a
// window of device memory (virtio-pmem): the guest's reads come from the
// host's page cache, one copy for every VM that maps the file. While the
// window is open vmm holds a lock on the file: shared for a read-only
// window, exclusive for a writable one.
type Window struct {
	file     *os.File
	Data     []byte
	ReadOnly bool
}

// OpenWindow opens path (O_NONBLOCK: a FIFO cannot hold it up), refuses
// anything but a non-empty regular file
// whose size is a multiple of WindowAlign, takes its lock without
// waiting (ErrWindowInUse when another holds it), and maps it.
func OpenWindow(path string, readOnly bool) (*Window, error) {
	flags, prot, lock := os.O_RDWR, unix.PROT_READ|unix.PROT_WRITE, unix.LOCK_EX
	if readOnly {
		flags, prot, lock = os.O_RDONLY, unix.PROT_READ, unix.LOCK_SH
	}
	f, err := os.OpenFile(path, flags|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	w := &Window{file: f, ReadOnly: readOnly}
	if err := w.check(path); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), lock|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (a writable one belongs to one VM alone)", path, ErrWindowInUse)
		}
		return nil, fmt.Errorf("%s: lock: %w", path, err)
	}
	st, _ := f.Stat() // check read it just now
	if w.Data, err = unix.Mmap(int(f.Fd()), 0, int(st.Size()), prot, unix.MAP_SHARED); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: map: %w", path, err)
	}
	return w, nil
}

// check refuses a file a window cannot be made of.
func (w *Window) check(path string) error {
	st, err := w.file.Stat()
	if err != nil {
		return err
	}
	return CheckWindowFile(path, st)
}

// CheckWindowPath says why the file at path cannot be a window (nil if
// it can), before anything opens it: CheckWindowFile of its status.
func CheckWindowPath(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return CheckWindowFile(path, st)
}

// CheckWindowFile says why the file path, of status st, cannot be a
// window (nil if it can): it must be a regular file of a non-zero
// multiple of WindowAlign bytes.
func CheckWindowFile(path string, st os.FileInfo) error {
	switch {
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file", path)
	case st.Size() == 0 || st.Size()%WindowAlign != 0:
		return fmt.Errorf("%s: %d bytes, not a non-zero multiple of 2 MiB (truncate -s %d %s pads it)",
			path, st.Size(), (st.Size()/WindowAlign+1)*WindowAlign, path)
	case uint64(st.Size()) > 1<<46:
		return fmt.Errorf("%s: %d bytes: too large", path, st.Size())
	}
	return nil
}

// Size is the window's size in bytes.
func (w *Window) Size() uint64 { return uint64(len(w.Data)) }

// Flush makes the guest's writes durable in the file: fsync(2) writes
// back the dirty pages of the shared mapping too. A read-only window has
// nothing to flush.
func (w *Window) Flush() error {
	if w.ReadOnly {
		return nil
	}
	return w.file.Sync()
}

// Cached is how many bytes of the window's file the host's page cache
// holds (mincore(2) of the shared mapping: the one copy every VM that
// maps the file reads).
func (w *Window) Cached() (uint64, error) {
	vec := make([]byte, (len(w.Data)+pageSize-1)/pageSize)
	if err := mincore(w.Data, vec); err != nil {
		return 0, err
	}
	var pages uint64
	for _, v := range vec {
		pages += uint64(v & 1)
	}
	return pages * pageSize, nil
}

// Close unmaps the window and closes the file, which drops its lock.
func (w *Window) Close() error {
	var errs []error
	if w.Data != nil {
		errs = append(errs, unix.Munmap(w.Data))
		w.Data = nil
	}
	if w.file != nil {
		errs = append(errs, w.file.Close())
		w.file = nil
	}
	return errors.Join(errs...)
}
