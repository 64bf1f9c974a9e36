package virtio

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

type countIRQ struct{ config atomic.Int32 }

func (c *countIRQ) Queue(int) error { return nil }
func (c *countIRQ) Config() error   { c.config.Add(1); return nil }

func TestWorkersKickStopAndFail(t *testing.T) {
	var w Workers
	irq := &countIRQ{}
	kicks := make(chan int, 10)
	serve := func(id int) Work {
		return func(kick, stop <-chan struct{}) error {
			for {
				select {
				case <-stop:
					return nil
				case <-kick:
					kicks <- id
				}
			}
		}
	}
	w.Start(irq, serve(0), serve(1))
	// Each goroutine is kicked once at the start (what the driver queued
	// before DRIVER_OK gets served), then by Kick.
	got := map[int]int{}
	for range 2 {
		got[<-kicks]++
	}
	w.Kick(1)
	got[<-kicks]++
	w.Kick(7) // no such goroutine: ignored
	if got[0] != 1 || got[1] != 2 {
		t.Errorf("kicks %v, want goroutine 0 once and 1 twice", got)
	}
	w.Stop()
	if !w.Stopping() || w.Failed() != nil {
		t.Fatalf("after Stop: stopping %v, failed %v", w.Stopping(), w.Failed())
	}

	// The first error is the failure, raised once as a config interrupt.
	boom := errors.New("malformed ring")
	w.Start(irq, func(kick, stop <-chan struct{}) error { return boom }, func(kick, stop <-chan struct{}) error { return errors.New("second") })
	deadline := time.Now().Add(5 * time.Second)
	for irq.config.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	w.Stop()
	if err := w.Failed(); err == nil || irq.config.Load() != 1 {
		t.Errorf("failure %v with %d config interrupts, want one error and one interrupt", err, irq.config.Load())
	}
	// A new activation starts clean.
	w.Start(irq, serve(0))
	<-kicks
	if w.Failed() != nil {
		t.Error("a new activation kept the old failure")
	}
	w.Stop()
}

// Stop waits for the goroutines of its own activation only: a Stop that
// races a new Start never waits on the new one's goroutines (virtio-net
// once shared one WaitGroup across activations and a reset could hang).
func TestWorkersStopWaitsForItsOwnActivation(t *testing.T) {
	var w Workers
	irq := &countIRQ{}
	release := make(chan struct{})
	slow := func(kick, stop <-chan struct{}) error {
		<-stop
		<-release
		return nil
	}
	w.Start(irq, slow)
	stopped := make(chan struct{})
	go func() { w.Stop(); close(stopped) }()
	for !w.Stopping() {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-stopped:
		t.Fatal("Stop returned before its goroutine ended")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	block := make(chan struct{})
	w.Start(irq, func(kick, stop <-chan struct{}) error { <-block; return nil })
	done := make(chan struct{})
	go func() { w.Stop(); close(done) }()
	close(block)
	<-done
}
