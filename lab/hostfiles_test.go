package lab

import (
	"reflect"
	"testing"
)

func TestParseLDD(t *testing.T) {
	out := []byte("\tlinux-vdso.so.1 (0x00007ffd)\n\tlibseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x00007f)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n")
	got, err := parseLDD(out)
	want := []string{"/lib/x86_64-linux-gnu/libseccomp.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := parseLDD([]byte("\tlibfoo.so.1 => not found\n")); err == nil {
		t.Error("a missing library was accepted")
	}
}

// The host's own /bin/ls needs libc and the loader.
func TestWithLibraries(t *testing.T) {
	got, err := WithLibraries("ls")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 3 || got[0] != "/usr/bin/ls" && got[0] != "/bin/ls" {
		t.Fatalf("%q", got)
	}
}
