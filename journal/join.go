package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The node's one TCP port carries raft and a small join service, so that
// `sampan serve --join ADDR` needs only the raft address of any member.
// hashicorp/raft starts each connection with an RPC type byte (0–4); a join
// connection starts with joinMagic instead and then sends one line,
// "ID ADDR HOPS\n", answered by "OK\n" or "ERR reason\n" (or "PING\n",
// answered by "PONG ID\n", which the leader uses to check a joiner). A member that is
// not the leader forwards the request to the leader once (HOPS guards
// against loops during an election).
const (
	joinMagic   = 'J'
	joinHopsMax = 1
	joinLineMax = 512
	joinTimeout = 10 * time.Second
)

// muxStream is raft's StreamLayer over a listener shared with the join
// service.
type muxStream struct {
	ln        net.Listener
	advertise net.Addr
	raftConns chan net.Conn
	join      func(net.Conn)

	closeOnce sync.Once
	closed    chan struct{}
}

func newMuxStream(bind string, advertise net.Addr) (*muxStream, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	if ta, ok := advertise.(*net.TCPAddr); !ok || ta.IP == nil || ta.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("journal: %v is not an address peers can reach; set Advertise", advertise)
	}
	m := &muxStream{ln: ln, advertise: advertise, raftConns: make(chan net.Conn), closed: make(chan struct{})}
	go m.acceptLoop()
	return m, nil
}

func (m *muxStream) acceptLoop() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		go m.route(c)
	}
}

// route reads the first byte (with a deadline, so a silent client cannot
// hold a goroutine forever) and hands the connection to raft or join.
func (m *muxStream) route(c net.Conn) {
	var b [1]byte
	c.SetReadDeadline(time.Now().Add(joinTimeout))
	if _, err := c.Read(b[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	if b[0] == joinMagic {
		if m.join == nil {
			c.Close()
			return
		}
		m.join(c)
		return
	}
	select {
	case m.raftConns <- &prefixConn{Conn: c, first: b[0], pending: true}:
	case <-m.closed:
		c.Close()
	}
}

func (m *muxStream) Accept() (net.Conn, error) {
	select {
	case c := <-m.raftConns:
		return c, nil
	case <-m.closed:
		return nil, net.ErrClosed
	}
}

func (m *muxStream) Close() error {
	err := net.ErrClosed
	m.closeOnce.Do(func() {
		close(m.closed)
		err = m.ln.Close()
	})
	return err
}

func (m *muxStream) Addr() net.Addr { return m.advertise }

func (m *muxStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// prefixConn gives back the byte route consumed.
type prefixConn struct {
	net.Conn
	first   byte
	pending bool
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if p.pending && len(b) > 0 {
		p.pending = false
		b[0] = p.first
		return 1, nil
	}
	return p.Conn.Read(b)
}

// serveJoin answers one join request.
func (n *Node) serveJoin(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(joinTimeout))
	// ReadSlice, unlike ReadString, stops at the buffer size: a request
	// longer than joinLineMax is refused instead of buffered.
	line, err := bufio.NewReaderSize(c, joinLineMax).ReadSlice('\n')
	if err != nil {
		c.Write([]byte("ERR request too long or incomplete\n"))
		return
	}
	reply := n.handleJoin(strings.TrimSpace(string(line)))
	c.Write([]byte(reply + "\n"))
}

func (n *Node) handleJoin(line string) string {
	if line == "PING" {
		return "PONG " + n.ID()
	}
	var id, addr string
	var hops int
	if _, err := fmt.Sscanf(line, "%s %s %d", &id, &addr, &hops); err != nil {
		return "ERR malformed join request"
	}
	if !n.ready.Load() {
		return "ERR node is starting; retry"
	}
	if n.IsLeader() {
		// Adding a voter that cannot answer costs the cluster its quorum
		// (one voter plus one dead one is a cluster of two that needs
		// both), so the leader first checks that the address is a live
		// node with that ID.
		if err := probe(addr, id); err != nil {
			return "ERR " + err.Error()
		}
		if err := n.AddVoter(id, addr, joinTimeout); err != nil {
			return "ERR " + err.Error()
		}
		return "OK"
	}
	leader, _ := n.Leader()
	if leader == "" || hops >= joinHopsMax {
		return "ERR no leader known; retry"
	}
	reply, err := sendJoin(context.Background(), leader, id, addr, hops+1)
	if err != nil {
		return "ERR forward to leader " + leader + ": " + err.Error()
	}
	return reply
}

// probe checks that addr is a journal node whose ID is id.
func probe(addr, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%cPING\n", joinMagic); err != nil {
		return fmt.Errorf("probe %s: %v", addr, err)
	}
	reply, err := bufio.NewReaderSize(c, joinLineMax).ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("probe %s: %v", addr, err)
	}
	if got := strings.TrimSpace(string(reply)); got != "PONG "+id {
		return fmt.Errorf("%s answers %q, not node %s", addr, got, id)
	}
	return nil
}

func sendJoin(ctx context.Context, peer, id, addr string, hops int) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", peer)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintf(c, "%c%s %s %d\n", joinMagic, id, addr, hops); err != nil {
		return "", err
	}
	reply, err := bufio.NewReaderSize(c, joinLineMax).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(reply), nil
}

// Join asks the cluster member at peer (its raft address) to add this node
// as a voter, retrying through elections until ctx ends. This node must
// have been opened with Bootstrap false.
func (n *Node) Join(ctx context.Context, peer string) error {
	if strings.ContainsAny(n.ID(), " \n") || strings.ContainsAny(n.Addr(), " \n") {
		return errors.New("journal: node id and address must not contain spaces")
	}
	for {
		reply, err := sendJoin(ctx, peer, n.ID(), n.Addr(), 0)
		if err == nil && reply == "OK" {
			return nil
		}
		if err == nil {
			err = errors.New(strings.TrimPrefix(reply, "ERR "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("journal: join via %s: %w (last: %v)", peer, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
