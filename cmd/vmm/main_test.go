package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := dispatch([]string{"nosuch"}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("unknown command: rc %d, %q", rc, errb.String())
	}
	errb.Reset()
	if rc := dispatch([]string{"kvm-info", "--device", t.TempDir() + "/kvm"}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "no KVM") {
		t.Errorf("missing device: rc %d, %q", rc, errb.String())
	}
	if rc := dispatch([]string{"kvm-info", "--bogus"}, &out, &errb); rc != 2 {
		t.Errorf("bad flag: rc %d", rc)
	}
}
