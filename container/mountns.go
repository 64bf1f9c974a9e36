package container

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// mountNS is an OS thread in a private mount namespace in which one
// directory is covered by an empty tmpfs. Processes started from that
// thread inherit the namespace; the host's mounts are not changed. A Go
// thread cannot join another mount namespace (setns needs an unshared
// fs_struct), so the thread that made it serves every start.
type mountNS struct {
	jobs chan func()
	done chan struct{}
}

func newMountNS(hide string) (*mountNS, error) {
	ns := &mountNS{jobs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(ns.done)
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWNS): %w (needs root)", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			ready <- fmt.Errorf("make mounts private: %w", err)
			return
		}
		if err := unix.Mount("vmm-hidden", hide, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k,mode=755"); err != nil {
			ready <- fmt.Errorf("cover %s: %w", hide, err)
			return
		}
		ready <- nil
		for job := range ns.jobs {
			job()
		}
	}()
	if err := <-ready; err != nil {
		<-ns.done
		return nil, err
	}
	return ns, nil
}

// do runs f on the namespace's thread.
func (ns *mountNS) do(f func() error) error {
	errc := make(chan error, 1)
	ns.jobs <- func() { errc <- f() }
	return <-errc
}

// close ends the thread; the namespace goes when its last process does.
func (ns *mountNS) close() {
	close(ns.jobs)
	<-ns.done
}
