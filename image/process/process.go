// Package process owns the one mapping from an OCI image's config, and
// what the user asked for on the command line, to the process to run:
// its argv, environment, working directory and user. vmm run (in the
// guest), vmm container run (in a bundle) and the containerd shim all
// start what it returns, so an image runs the same on each side. The
// rules are Docker's and containerd's (WithImageConfigArgs, WithUser).
package process

import (
	"errors"
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is PATH for an image whose environment sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Config is what an image's config says of its process.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	Labels     map[string]string
}

// ReadyLabel is the image config label that says when the image's
// process is ready to serve, in vmm bench's --ready syntax (log:TEXT: an
// output line containing TEXT). make images sets it; vmm bench --app
// uses it when no condition is given.
const ReadyLabel = "org.vmmlab.ready"

// Overrides are what the command line says instead.
type Overrides struct {
	// Args, when any, replace the image's Cmd (arguments after IMAGE).
	Args []string
	// Entrypoint, when set, replaces the image's Entrypoint, and the
	// image's Cmd goes with it, as with docker run --entrypoint.
	Entrypoint    string
	SetEntrypoint bool
	Env           []string // KEY=VALUE, over the image's (-e)
	User          string   // -u
	WorkingDir    string   // -w
	Terminal      bool     // -t
}

// Files are the image's own /etc/passwd and /etc/group (nil when it
// has none), which name users and groups.
type Files struct {
	Passwd, Group []byte
}

// ErrNoCommand is returned when neither the image nor the command line
// names a program.
var ErrNoCommand = errors.New("no command: the image names none; give one after the image, or --entrypoint")

// Process returns the process image c describes, as o changes it.
func Process(c Config, o Overrides, f Files) (specs.Process, error) {
	args, err := argv(c, o)
	if err != nil {
		return specs.Process{}, err
	}
	spec := o.User
	if spec == "" {
		spec = c.User
	}
	user, home, err := resolveUser(spec, f)
	if err != nil {
		return specs.Process{}, err
	}
	env, err := environment(c.Env, o.Env, home)
	if err != nil {
		return specs.Process{}, err
	}
	cwd := o.WorkingDir
	if cwd == "" {
		cwd = c.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !strings.HasPrefix(cwd, "/") {
		return specs.Process{}, fmt.Errorf("working directory %q: not an absolute path", cwd)
	}
	if o.Terminal && !hasEnv(env, "TERM") {
		env = setEnv(env, "TERM=xterm") // as docker run -t sets it
	}
	return specs.Process{Args: args, Env: env, Cwd: cwd, User: user, Terminal: o.Terminal}, nil
}

// argv is Entrypoint + Cmd, either replaced as o says.
func argv(c Config, o Overrides) ([]string, error) {
	entry, cmd := c.Entrypoint, c.Cmd
	if o.SetEntrypoint {
		entry, cmd = nil, nil
		if o.Entrypoint != "" {
			entry = []string{o.Entrypoint}
		}
	}
	if len(o.Args) > 0 {
		cmd = o.Args
	}
	args := append(append([]string(nil), entry...), cmd...)
	if len(args) == 0 || args[0] == "" {
		return nil, ErrNoCommand
	}
	return args, nil
}

// environment is the image's Env with DefaultPath when it sets no PATH,
// HOME when it sets none, then the command line's variables over them.
func environment(image, overrides []string, home string) ([]string, error) {
	var env []string
	for _, kv := range image {
		env = setEnv(env, kv)
	}
	if !hasEnv(env, "PATH") {
		env = setEnv(env, DefaultPath)
	}
	if !hasEnv(env, "HOME") {
		env = setEnv(env, "HOME="+home)
	}
	for _, kv := range overrides {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("environment variable %q: want KEY=VALUE", kv)
		}
		env = setEnv(env, kv)
	}
	return env, nil
}

// setEnv sets kv in env, replacing the variable of the same name.
func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}
