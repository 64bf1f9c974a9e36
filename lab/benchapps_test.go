package lab

import (
	"slices"
	"testing"
)

// make bench measures the http workload packed as an image, redis
// (ready at its log line) and nginx (at its first HTTP answer) beside
// the workloads; the Debian base has no process to wait for.
func TestBenchApps(t *testing.T) {
	got := BenchApps("/lab/assets/images")
	if want := []string{"--app", "workload:http", "--app", "/lab/assets/images/redis.tar", "--app", "/lab/assets/images/nginx.tar"}; !slices.Equal(got, want) {
		t.Errorf("BenchApps = %q, want %q", got, want)
	}
}
