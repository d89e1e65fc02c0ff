package journal

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestJoinRequests: the join service answers malformed, oversized and
// unanswerable requests with an error line and adds nothing, and raft
// traffic on the same port is unaffected (the node still commits).
func TestJoinRequests(t *testing.T) {
	n, _ := openReady(t, fastConfig(t.TempDir()))
	defer n.Shutdown()
	cases := []struct {
		name, send, want string
	}{
		{"malformed", "J\n", "ERR malformed"},
		{"too long", "J" + strings.Repeat("x", joinLineMax+1) + "\n", "ERR request too long"},
		{"unreachable voter", "Jnode-x 127.0.0.1:1 0\n", "ERR cannot reach"},
		{"wrong id at address", "Jnode-x " + n.Addr() + " 0\n", "ERR"},
		{"ping", "JPING\n", "PONG " + n.ID()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", n.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(15 * time.Second))
			conn.Write([]byte(c.send))
			buf := make([]byte, 256)
			k, _ := conn.Read(buf)
			if got := string(buf[:k]); !strings.HasPrefix(got, c.want) {
				t.Fatalf("reply %q, want prefix %q", got, c.want)
			}
		})
	}
	if _, err := n.Submit(context.Background(), transfer(1, 0, 1, 1)); err != nil {
		t.Fatalf("node stopped committing after join traffic: %v", err)
	}
}
