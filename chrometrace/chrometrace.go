// Package chrometrace records a timeline in the Chrome trace-event format
// (JSON, opened by Perfetto or chrome://tracing): spans, instants and
// counters on numbered threads. It keeps every event up to a limit and
// then, so that a whole boot stays a few MB, only a count per second of
// each name: the file says how many events it aggregated.
package chrometrace

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Event is one trace event (the fields Chrome's format uses here).
type Event struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`            // X span, i instant, C counter, M metadata
	TS   float64        `json:"ts"`            // µs since the recording's start
	Dur  float64        `json:"dur,omitempty"` // µs, for spans
	PID  int            `json:"pid"`
	TID  int            `json:"tid"`
	S    string         `json:"s,omitempty"` // instant scope
	Args map[string]any `json:"args,omitempty"`
}

// Recorder collects events; it is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	max     int
	kept    int // events kept in full (marks not counted)
	events  []Event
	threads map[int]string
	// past the limit: per name and thread, counts per second
	counts     map[countKey]int
	aggregated int
}

type countKey struct {
	tid    int
	name   string
	second int64
}

// New starts a recording at start that keeps up to max events in full.
func New(start time.Time, max int) *Recorder {
	return &Recorder{start: start, max: max, threads: map[int]string{}, counts: map[countKey]int{}}
}

func (r *Recorder) us(t time.Time) float64 { return float64(t.Sub(r.start).Nanoseconds()) / 1000 }

// Thread names thread tid ("vCPU 0").
func (r *Recorder) Thread(tid int, name string) {
	r.mu.Lock()
	r.threads[tid] = name
	r.mu.Unlock()
}

func (r *Recorder) add(e Event, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kept < r.max {
		r.kept++
		r.events = append(r.events, e)
		return
	}
	r.aggregated++
	r.counts[countKey{e.TID, e.Name, int64(at.Sub(r.start) / time.Second)}]++
}

// Span records that name ran on thread tid from from to to.
func (r *Recorder) Span(tid int, cat, name string, from, to time.Time) {
	r.add(Event{Name: name, Cat: cat, Ph: "X", TS: r.us(from), Dur: float64(to.Sub(from).Nanoseconds()) / 1000, PID: 1, TID: tid}, from)
}

// Instant records a moment on thread tid (a boot phase, a notification).
func (r *Recorder) Instant(tid int, cat, name string, at time.Time) {
	r.add(Event{Name: name, Cat: cat, Ph: "i", S: "t", TS: r.us(at), PID: 1, TID: tid}, at)
}

// Phase records a span that always stays in the trace, even past the
// limit (vmm's set-up steps).
func (r *Recorder) Phase(tid int, cat, name string, from, to time.Time) {
	r.mu.Lock()
	r.events = append(r.events, Event{Name: name, Cat: cat, Ph: "X", TS: r.us(from), Dur: float64(to.Sub(from).Nanoseconds()) / 1000, PID: 1, TID: tid})
	r.mu.Unlock()
}

// Mark records a moment that always stays in the trace, even past the
// limit (boot phases).
func (r *Recorder) Mark(cat, name string, at time.Time) {
	r.mu.Lock()
	r.events = append(r.events, Event{Name: name, Cat: cat, Ph: "i", S: "g", TS: r.us(at), PID: 1})
	r.mu.Unlock()
}

// WriteTo writes the trace as JSON: the events in time order, thread
// names, and a counter event per name, thread and second for what went
// past the limit.
func (r *Recorder) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	events := append([]Event(nil), r.events...)
	for tid, name := range r.threads {
		events = append(events, Event{Name: "thread_name", Ph: "M", PID: 1, TID: tid, Args: map[string]any{"name": name}})
	}
	for k, n := range r.counts {
		events = append(events, Event{Name: k.name + " (per second)", Ph: "C", TS: float64(k.second) * 1e6, PID: 1, TID: k.tid,
			Args: map[string]any{"count": n}})
	}
	aggregated := r.aggregated
	r.mu.Unlock()
	sort.SliceStable(events, func(i, j int) bool { return events[i].TS < events[j].TS })
	out := struct {
		TraceEvents     []Event        `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}{events, "ms", map[string]any{"aggregated_events": aggregated,
		"note": fmt.Sprintf("the first %d events in full, the rest counted per second", r.max)}}
	b, err := json.Marshal(out)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}
