// Package e2e holds the end-to-end tests that run the real vmm binary on a
// real kernel. They need KVM, so they live in *_lab_test.go files and run
// in the nested-KVM lab (make e2e), which provides the binary, the Debian
// kernel and a static busybox.
package e2e
