package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestRespond(t *testing.T) {
	for _, c := range []struct{ req, status, body string }{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK", Page},
		{"GET /work HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK", ""},
		{"GET /nope HTTP/1.1\r\n\r\n", "404 Not Found", "not found\n"},
		{"POST / HTTP/1.1\r\n\r\n", "405 Method Not Allowed", "GET only\n"},
		{"GET / HTTP/1.1\r\nHost: x\r\n", "400 Bad Request", "bad request\n"}, // no end of headers
		{"", "400 Bad Request", "bad request\n"},
		{"GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n", "400 Bad Request", "bad request\n"},
	} {
		status, body := respond(bufio.NewReaderSize(strings.NewReader(c.req), 4096))
		if status != c.status || (c.body != "" && body != c.body) {
			t.Errorf("%q: %s %q, want %s %q", c.req, status, body, c.status, c.body)
		}
		if c.req == "GET /work HTTP/1.1\r\nHost: x\r\n\r\n" && len(body) != 65 {
			t.Errorf("/work body %q is not a sha256", body)
		}
	}
}
