package labproto

import (
	"bytes"
	"compress/gzip"
	"reflect"
	"strings"
	"testing"
)

// An event written is read back the same, one line each; what is not an
// event (the tty's noise, a line cut short) is skipped.
func TestWriteRead(t *testing.T) {
	evs := []Event{
		{Action: Begin, Package: "e2e.test", Uptime: 6.2},
		{Action: "output", Package: "e2e.test", Test: "TestA", Output: "a \"quoted\"\nline\n"},
		{Action: Stall, Package: "e2e.test", Test: "TestHangs", Seconds: 900, Exit: 2, Lines: []string{"pid 1: init"}},
	}
	var b bytes.Buffer
	for _, e := range evs {
		if err := Write(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(b.String(), "\n"); n != len(evs) {
		t.Fatalf("%d lines for %d events:\n%s", n, len(evs), b.String())
	}
	stream := "noise from the tty\r\n" + b.String() + `{"Action":"pass","Package":"e2e.test","Te` + "\n{}\n"
	got, err := Read(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, evs) {
		t.Errorf("read\n%+v\nwant\n%+v", got, evs)
	}
}

func TestFileData(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"schema":3}`))
	zw.Close()
	e := Event{Action: File, Name: "results.json", Data: z.Bytes()}
	if b, err := e.FileData(); err != nil || string(b) != `{"schema":3}` {
		t.Errorf("FileData = %q, %v", b, err)
	}
	e.Data = []byte("not gzip")
	if _, err := e.FileData(); err == nil || !strings.Contains(err.Error(), "results.json") {
		t.Errorf("bad data: %v", err)
	}
}

// Whatever a line holds, Parse returns without panicking, and an event
// it accepts has an action.
func FuzzParse(f *testing.F) {
	f.Add(`{"Action":"lab-end","Package":"e2e.test","Exit":1}`)
	f.Add(`{"Action":"lab-file","Name":"x","Data":"AAEC"}`)
	f.Add(`{"Action":`)
	f.Fuzz(func(t *testing.T, line string) {
		if e, ok := Parse(line); ok && e.Action == "" {
			t.Fatalf("accepted %q with no action", line)
		}
	})
}

// A file event that unpacks past MaxFile is refused, not read into
// memory whole.
func TestFileDataIsBounded(t *testing.T) {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(make([]byte, MaxFile+1))
	zw.Close()
	if _, err := (Event{Action: File, Name: "big", Data: z.Bytes()}).FileData(); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a %d-byte file came through: %v", MaxFile+1, err)
	}
}
