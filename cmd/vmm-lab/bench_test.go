package main

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/lab/labproto"
)

// The bench's results.json comes as the last file event of that name.
func TestBenchResults(t *testing.T) {
	file := func(s string) labproto.Event {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(s))
		zw.Close()
		return labproto.Event{Action: labproto.File, Name: "results.json", Data: z.Bytes()}
	}
	evs := []labproto.Event{{Action: labproto.Booted}, file("old"), {Action: labproto.Bench, Exit: 1}, file(`{"schema":3}`), {Action: labproto.Done}}
	if b, err := benchResults(evs); err != nil || string(b) != `{"schema":3}` {
		t.Errorf("results %q, %v", b, err)
	}
	if _, err := benchResults(evs[:1]); err == nil || !strings.Contains(err.Error(), "no results.json") {
		t.Errorf("no file: %v", err)
	}
}
