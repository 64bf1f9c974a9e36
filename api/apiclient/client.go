// Package apiclient is the client side of vmm's control API (package
// api): it talks HTTP over the VM's unix socket. It lives apart from
// package api so that the vmm binary, which serves the API, does not
// link net/http.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vmmlab/vmm/api"
)

// Client talks to one VM's API socket.
type Client struct {
	http *http.Client
}

// New makes a client for the socket at path; timeout bounds each call
// (a snapshot of a large VM takes a while).
func New(path string, timeout time.Duration) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{http: &http.Client{Transport: tr, Timeout: timeout}}
}

// do sends a request and decodes a JSON answer into out (when not nil);
// an answer of 4xx or 5xx is an error with the API's message.
func (c *Client) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://vmm"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("vmm's API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("vmm's API: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s (%d)", method, path, e.Error, resp.StatusCode)
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Status is GET /vm.
func (c *Client) Status() (api.Status, error) {
	var s api.Status
	err := c.do("GET", api.PathVM, nil, &s)
	return s, err
}

// Pause is PUT /vm/pause.
func (c *Client) Pause() error { return c.do("PUT", api.PathPause, nil, nil) }

// Resume is PUT /vm/resume.
func (c *Client) Resume() error { return c.do("PUT", api.PathResume, nil, nil) }

// Stop is PUT /vm/stop.
func (c *Client) Stop() error { return c.do("PUT", api.PathStop, nil, nil) }

// Snapshot is PUT /vm/snapshot: the VM's state and memory go into dir.
func (c *Client) Snapshot(dir string) (api.SnapshotInfo, error) {
	var info api.SnapshotInfo
	err := c.do("PUT", api.PathSnapshot, map[string]string{"dir": dir}, &info)
	return info, err
}

// RecordWorkingSet is PUT /vm/working-set: a restore with --working-set
// record writes the pages its guest touched into its snapshot.
func (c *Client) RecordWorkingSet() (api.WorkingSetInfo, error) {
	var info api.WorkingSetInfo
	err := c.do("PUT", api.PathWorkingSet, nil, &info)
	return info, err
}
