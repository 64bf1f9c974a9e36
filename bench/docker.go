package bench

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/rootdisk"
)

// dockerImage is the name the bench imports its root as.
const dockerImage = "vmmbench:latest"

// dockerTarget runs `docker run --rm` against a dockerd the bench starts
// itself on a private socket, data root and exec root, without a bridge
// or iptables rules, and stops afterwards, leaving the host as it was.
type dockerTarget struct {
	a       Assets
	dir     string // the daemon's private directory
	ramdisk bool   // the host root is an initramfs: no pivot_root
	daemon  *exec.Cmd
	err     error
	version string
	seq     int
}

// newDocker is the docker target; dir is a fresh directory for its daemon.
func newDocker(a Assets, dir string, ramdisk bool) Target {
	t := &dockerTarget{a: a, dir: dir, ramdisk: ramdisk}
	for _, bin := range []string{"dockerd", "docker", "containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.err = fmt.Errorf("%s is not installed (apt-get install docker.io)", bin)
		}
	}
	return t
}

func (t *dockerTarget) Name() string       { return results.TargetDocker }
func (t *dockerTarget) Kind() results.Kind { return results.KindContainer }
func (t *dockerTarget) Version() string    { return t.version }

// Check starts the daemon on first use and imports the image.
func (t *dockerTarget) Check() error {
	if err := t.checkOCI(); err != nil {
		return err
	}
	if t.err != nil || t.daemon != nil {
		return t.err
	}
	t.err = t.startDaemon()
	return t.err
}

func (t *dockerTarget) sock() string { return "unix://" + filepath.Join(t.dir, "docker.sock") }

func (t *dockerTarget) docker(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "docker", append([]string{"-H", t.sock()}, args...)...)
}

func (t *dockerTarget) startDaemon() error {
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(t.dir, "dockerd.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	d := exec.Command("dockerd", "--host", t.sock(), "--data-root", filepath.Join(t.dir, "data"),
		"--exec-root", filepath.Join(t.dir, "exec"), "--pidfile", filepath.Join(t.dir, "dockerd.pid"),
		"--iptables=false", "--ip6tables=false", "--ip-masq=false", "--bridge=none", "--userland-proxy=false")
	d.Stdout, d.Stderr = log, log
	d.Env = os.Environ()
	if t.ramdisk {
		d.Env = append(d.Env, "DOCKER_RAMDISK=1")
	}
	// No Pdeathsig: it fires when the forking OS *thread* ends, and the
	// Go runtime ends threads that goroutines leave locked (entering the
	// bridge's network namespace does), which killed running instances.
	d.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.Start(); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	t.daemon = d
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		out, err := t.docker(ctx, "version", "--format", "{{.Server.Version}}").Output()
		if err == nil {
			t.version = "Docker " + strings.TrimSpace(string(out))
			break
		}
		if ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(t.dir, "dockerd.log"))
			return fmt.Errorf("dockerd did not answer: %s", lastLines(string(b), 5))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if t.a.OCI != nil {
		return t.loadImage(ctx)
	}
	return t.importImage(ctx)
}

// importImage imports the containers' root as an image (no registry).
func (t *dockerTarget) importImage(ctx context.Context) error {
	cmd := t.docker(ctx, "import", "-", dockerImage)
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	terr := writeTar(w, t.a.Rootfs)
	w.Close()
	if err := errors.Join(cmd.Wait(), terr); err != nil {
		return fmt.Errorf("docker import: %w: %s", err, out.String())
	}
	return nil
}

// writeTar writes the tree below root as a tar stream.
func writeTar(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	return errors.Join(err, tw.Close())
}

func (t *dockerTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if s.Net != nil {
		return nil, errors.New("docker: density runs use the bench's own bridge, which docker does not join")
	}
	t.seq++
	name := fmt.Sprintf("vmmbench-%d-%d", os.Getpid(), t.seq)
	cidFile := filepath.Join(t.dir, name+".cid")
	args := []string{"run", "--rm", "--name", name, "--cidfile", cidFile, "--network", "none",
		"--memory", fmt.Sprintf("%dm", s.MemMiB), "--cpus", fmt.Sprint(s.CPUs)}
	in := &Instance{}
	cmd := t.docker(context.Background(), append(args, t.process(s)...)...)
	p, err := startProcFor(ctx, cmd, in, t.marker())
	if err != nil {
		t.remove(name)
		os.Remove(cidFile)
		return nil, fmt.Errorf("docker: %w", err)
	}
	id := ""
	if b, err := os.ReadFile(cidFile); err == nil {
		id = strings.TrimSpace(string(b))
	}
	in.Cgroup = dockerCgroup(id)
	p.extraPIDs = func() []int { return append(dockerShims(id), cgroupProcs(in.Cgroup)...) }
	p.onlyExtra = true
	p.cleanup = func() error {
		os.Remove(cidFile)
		return t.remove(name)
	}
	return in, nil
}

// remove deletes a container that --rm has not removed yet.
func (t *dockerTarget) remove(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := t.docker(ctx, "rm", "-f", name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such container") {
		return fmt.Errorf("docker rm %s: %w: %s", name, err, out)
	}
	return nil
}

// Close stops the daemon and removes its directories (unmounting what it
// left mounted there).
func (t *dockerTarget) Close() error {
	if t.daemon == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.docker(ctx, "rmi", "-f", t.imageRef()).Run()
	t.daemon.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- t.daemon.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-t.daemon.Process.Pid, syscall.SIGKILL)
		<-done
	}
	syscall.Kill(-t.daemon.Process.Pid, syscall.SIGKILL) // its containerd
	t.daemon = nil
	unmountBelow(t.dir)
	return os.RemoveAll(t.dir)
}

// unmountBelow lazily unmounts every mount point under dir, deepest first.
func unmountBelow(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		unix.Unmount(mounts[i], unix.MNT_DETACH)
	}
}

// Footprint creates n containers of the image (not started), measures
// the data root's growth and removes them again.
func (t *dockerTarget) Footprint(ctx context.Context, n int) *results.DockerFootprint {
	f := &results.DockerFootprint{N: n}
	if err := t.Check(); err != nil {
		f.Error = err.Error()
		return f
	}
	if out, err := t.docker(ctx, "image", "inspect", "-f", "{{.Size}}", dockerImage).Output(); err == nil {
		fmt.Sscan(string(out), &f.ImageBytes)
	}
	if out, err := t.docker(ctx, "info", "-f", "{{.Driver}}").Output(); err == nil {
		f.Driver = strings.TrimSpace(string(out))
	}
	data := filepath.Join(t.dir, "data")
	before, _ := rootdisk.DiskUsage(data)
	var names []string
	for i := 0; i < n && ctx.Err() == nil; i++ {
		name := fmt.Sprintf("vmmbench-fp-%d-%d", os.Getpid(), i)
		if out, err := t.docker(ctx, "create", "--name", name, "--network", "none", dockerImage, "/bin/hello").CombinedOutput(); err != nil {
			f.Error = fmt.Sprintf("docker create: %v: %s", err, strings.TrimSpace(string(out)))
			break
		}
		names = append(names, name)
	}
	f.Created = len(names)
	after, _ := rootdisk.DiskUsage(data)
	f.DataRootGrowth = after - before
	for _, name := range names {
		if err := t.remove(name); err != nil && f.Error == "" {
			f.Error = err.Error()
		}
	}
	return f
}
