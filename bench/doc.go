// Package bench will own the VM-versus-container measurements (boot and
// start latency, host memory, density) and their reports. Nothing is
// implemented yet; see the open issues.
package bench
