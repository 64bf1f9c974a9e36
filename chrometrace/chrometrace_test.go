package chrometrace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// Events come out as valid trace-event JSON in time order; past the
// limit they become per-second counters, marks stay.
func TestRecorder(t *testing.T) {
	t0 := time.Unix(100, 0)
	r := New(t0, 3)
	r.Thread(0, "vCPU 0")
	r.Mark("boot", "machine built", t0.Add(2*time.Millisecond))
	r.Span(0, "exit", "io 0x3f8", t0.Add(5*time.Millisecond), t0.Add(6*time.Millisecond))
	r.Instant(1, "virtio", "notify", t0.Add(time.Millisecond))
	for i := range 5 {
		r.Span(0, "exit", "io 0x70", t0.Add(time.Duration(1500+i)*time.Millisecond), t0.Add(time.Duration(1501+i)*time.Millisecond))
	}
	r.Mark("boot", "booted", t0.Add(3*time.Second))
	r.Phase(2, "setup", "kvm", t0.Add(4*time.Second), t0.Add(5*time.Second))
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		TraceEvents []Event
		OtherData   map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	last := -1.0
	for _, e := range got.TraceEvents {
		if e.TS < last {
			t.Fatalf("events out of order: %+v", got.TraceEvents)
		}
		last = e.TS
		names = append(names, e.Name+"/"+e.Ph)
	}
	want := []string{"thread_name/M", "notify/i", "machine built/i", "io 0x3f8/X", "io 0x70 (per second)/C", "io 0x70/X", "booted/i", "kvm/X"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", names, want)
	}
	if got.OtherData["aggregated_events"] != float64(4) {
		t.Fatalf("otherData %v", got.OtherData)
	}
}
