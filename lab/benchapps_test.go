package lab

import (
	"slices"
	"testing"
)

// make bench measures redis (ready at its log line) beside the
// workloads; nginx, whose label asks for an HTTP answer the bench cannot
// wait for yet, is left out.
func TestBenchApps(t *testing.T) {
	got := BenchApps("/lab/assets/images")
	if want := []string{"--app", "/lab/assets/images/redis.tar"}; !slices.Equal(got, want) {
		t.Errorf("BenchApps = %q, want %q", got, want)
	}
}
