package process

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var files = Files{
	Passwd: []byte("root:x:0:0:root:/root:/bin/sh\n# a comment\nredis:x:999:998::/var/lib/redis:/usr/sbin/nologin\nbroken line\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
	Group:  []byte("root:x:0:\nredis:x:998:\nadm:x:4:redis,other\nnogroup:x:65534:\n"),
}

func TestArgv(t *testing.T) {
	for _, c := range []struct {
		name string
		c    Config
		o    Overrides
		want []string
	}{
		{"entrypoint and cmd", Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}}, Overrides{}, []string{"/bin/sh", "-c", "echo hi"}},
		{"args replace cmd", Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}}, Overrides{Args: []string{"exit 7"}}, []string{"/bin/sh", "-c", "exit 7"}},
		{"cmd alone", Config{Cmd: []string{"redis-server", "--bind", "0.0.0.0"}}, Overrides{}, []string{"redis-server", "--bind", "0.0.0.0"}},
		{"args alone", Config{Cmd: []string{"sh"}}, Overrides{Args: []string{"ls", "-l"}}, []string{"ls", "-l"}},
		{"entrypoint flag drops cmd", Config{Entrypoint: []string{"/init"}, Cmd: []string{"serve"}}, Overrides{Entrypoint: "/bin/sh", SetEntrypoint: true}, []string{"/bin/sh"}},
		{"entrypoint flag with args", Config{Entrypoint: []string{"/init"}, Cmd: []string{"serve"}}, Overrides{Entrypoint: "/bin/sh", SetEntrypoint: true, Args: []string{"-c", "id"}}, []string{"/bin/sh", "-c", "id"}},
		{"empty entrypoint flag", Config{Entrypoint: []string{"/init"}, Cmd: []string{"serve"}}, Overrides{SetEntrypoint: true, Args: []string{"ls"}}, []string{"ls"}},
	} {
		p, err := Process(c.c, c.o, files)
		if err != nil || !reflect.DeepEqual(p.Args, c.want) {
			t.Errorf("%s: args %q, %v; want %q", c.name, p.Args, err, c.want)
		}
	}
	for _, c := range []Config{{}, {Entrypoint: []string{""}}} {
		if _, err := Process(c, Overrides{}, files); !errors.Is(err, ErrNoCommand) {
			t.Errorf("%+v: %v, want ErrNoCommand", c, err)
		}
	}
	if _, err := Process(Config{Entrypoint: []string{"/init"}}, Overrides{SetEntrypoint: true}, files); !errors.Is(err, ErrNoCommand) {
		t.Errorf("an empty --entrypoint and no args: %v", err)
	}
}

func TestEnv(t *testing.T) {
	for _, c := range []struct {
		name      string
		image, kv []string
		user      string
		want      []string
	}{
		{"none", nil, nil, "", []string{DefaultPath, "HOME=/root"}},
		{"image path kept", []string{"PATH=/opt/bin", "LANG=C"}, nil, "", []string{"PATH=/opt/bin", "LANG=C", "HOME=/root"}},
		{"image without path", []string{"LANG=C"}, nil, "", []string{"LANG=C", DefaultPath, "HOME=/root"}},
		{"override", []string{"LANG=C", "A=1"}, []string{"A=2", "B="}, "", []string{"LANG=C", "A=2", DefaultPath, "HOME=/root", "B="}},
		{"image home kept", []string{"HOME=/srv"}, nil, "redis", []string{"HOME=/srv", DefaultPath}},
		{"user's home", nil, nil, "redis", []string{DefaultPath, "HOME=/var/lib/redis"}},
		{"unknown uid", nil, nil, "4242", []string{DefaultPath, "HOME=/"}},
		{"value with =", nil, []string{"Q=a=b"}, "", []string{DefaultPath, "HOME=/root", "Q=a=b"}},
	} {
		p, err := Process(Config{Cmd: []string{"x"}, Env: c.image}, Overrides{Env: c.kv, User: c.user}, files)
		if err != nil || !reflect.DeepEqual(p.Env, c.want) {
			t.Errorf("%s: env %q, %v; want %q", c.name, p.Env, err, c.want)
		}
	}
	for _, bad := range []string{"NOVALUE", "=x"} {
		if _, err := Process(Config{Cmd: []string{"x"}}, Overrides{Env: []string{bad}}, files); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
			t.Errorf("-e %q: %v", bad, err)
		}
	}
}

func TestUser(t *testing.T) {
	for _, c := range []struct {
		image, flag string
		want        specs.User
	}{
		{"", "", specs.User{}},
		{"redis", "", specs.User{UID: 999, GID: 998, AdditionalGids: []uint32{4}}},
		{"redis", "0", specs.User{}},
		{"", "999", specs.User{UID: 999, GID: 998, AdditionalGids: []uint32{4}}},
		{"", "4242", specs.User{UID: 4242}},
		{"", "4242:4243", specs.User{UID: 4242, GID: 4243}},
		{"", "redis:adm", specs.User{UID: 999, GID: 4}},
		{"", "nobody:0", specs.User{UID: 65534, GID: 0}},
		{"", "1000:nogroup", specs.User{UID: 1000, GID: 65534}},
		{"", ":adm", specs.User{GID: 4}},
	} {
		p, err := Process(Config{Cmd: []string{"x"}, User: c.image}, Overrides{User: c.flag}, files)
		if err != nil || !reflect.DeepEqual(p.User, c.want) {
			t.Errorf("image %q, -u %q: user %+v, %v; want %+v", c.image, c.flag, p.User, err, c.want)
		}
	}
	for _, bad := range []string{"mysql", "redis:nosuch", "4294967295", "-1"} {
		if _, err := Process(Config{Cmd: []string{"x"}}, Overrides{User: bad}, files); err == nil {
			t.Errorf("-u %q accepted", bad)
		}
	}
	if _, err := Process(Config{Cmd: []string{"x"}, User: "redis"}, Overrides{}, Files{}); err == nil {
		t.Error("a user name in an image without /etc/passwd accepted")
	}
}

func TestWorkingDir(t *testing.T) {
	for _, c := range []struct{ image, flag, want string }{
		{"", "", "/"}, {"/data", "", "/data"}, {"/data", "/tmp", "/tmp"},
	} {
		p, err := Process(Config{Cmd: []string{"x"}, WorkingDir: c.image}, Overrides{WorkingDir: c.flag}, files)
		if err != nil || p.Cwd != c.want {
			t.Errorf("image %q -w %q: %q, %v", c.image, c.flag, p.Cwd, err)
		}
	}
	if _, err := Process(Config{Cmd: []string{"x"}}, Overrides{WorkingDir: "relative"}, files); err == nil {
		t.Error("a relative working directory accepted")
	}
	if p, _ := Process(Config{Cmd: []string{"x"}}, Overrides{Terminal: true}, files); !p.Terminal || !slices.Contains(p.Env, "TERM=xterm") {
		t.Errorf("-t: terminal %v, env %v", p.Terminal, p.Env)
	}
	if p, _ := Process(Config{Cmd: []string{"x"}, Env: []string{"TERM=vt100"}}, Overrides{Terminal: true}, files); !slices.Contains(p.Env, "TERM=vt100") {
		t.Errorf("-t replaced the image's TERM: %v", p.Env)
	}
	if p, _ := Process(Config{Cmd: []string{"x"}}, Overrides{}, files); slices.ContainsFunc(p.Env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		t.Errorf("TERM without -t: %v", p.Env)
	}
}
