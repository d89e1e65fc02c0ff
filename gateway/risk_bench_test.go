package gateway

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
)

// BenchmarkRiskScan measures the client scan behind the risk endpoints, per
// client, on a venue where one client in ten holds a position; the figure
// backs the cost note in risk.go.
func BenchmarkRiskScan(b *testing.B) {
	const clients = 20_000
	ev := newEnv(b, nil)
	ev.setMark(btc, "50000")
	maker := ev.client("maker", "100000000", true)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "100", ""), maker), 200)
	for i := 2; i <= clients; i++ {
		c := engine.Command{Kind: engine.CmdCreateClient, Key: uint64(i), Ref: "c" + strconv.Itoa(i)}
		if r, err := ev.x.Submit(context.Background(), &c); err != nil || r.Code != engine.OK {
			b.Fatal(err, r.Code)
		}
	}
	for i := 0; i < clients/10; i++ {
		k := ev.client("p"+strconv.Itoa(i), "10000", true)
		ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.01", ""), k), 200)
	}
	c := &call{key: ev.ops[RoleRisk]}
	for _, bc := range []struct {
		name, path string
		h          privateHandler
	}{{"accounts", "/v1/admin/risk/accounts?limit=500", ev.srv.getRiskAccounts}, {"markets", "/v1/admin/risk/markets", ev.srv.getRiskMarkets}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				if e := bc.h(w, httptest.NewRequest("GET", bc.path, nil), c); e != nil {
					b.Fatal(e)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(clients+clients/10), "ns/client")
		})
	}
}
