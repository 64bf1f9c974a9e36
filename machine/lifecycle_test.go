package machine

import (
	"errors"
	"testing"
	"time"
)

// One operation at a time: a second is ErrBusy while the first runs; the
// end of the run waits for it and refuses everything after.
func TestLifecycle(t *testing.T) {
	var l lifecycle
	if err := l.begin("snapshot"); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"resume", "pause", "snapshot"} {
		if err := l.begin(op); !errors.Is(err, ErrBusy) {
			t.Errorf("%s during a snapshot: %v, want ErrBusy", op, err)
		}
	}
	ended := make(chan struct{})
	go func() {
		l.end()
		close(ended)
	}()
	select {
	case <-ended:
		t.Fatal("the run ended while a snapshot was under way")
	case <-time.After(50 * time.Millisecond):
	}
	l.done()
	<-ended
	if err := l.begin("pause"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("pause after the run: %v, want ErrNotRunning", err)
	}
}
