package journal

import (
	"context"
	"sync"
	"testing"
)

// BenchmarkSubmitParallel measures Submit throughput on one voter with
// many concurrent clients (b.N commands in total).
func BenchmarkSubmitParallel(b *testing.B) {
	n, _ := openReady(&testing.T{}, fastConfig(b.TempDir()))
	defer n.Shutdown()
	const clients = 1024
	cmd := make([]byte, 64)
	var wg sync.WaitGroup
	per := b.N/clients + 1
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if _, err := n.Submit(context.Background(), cmd); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
