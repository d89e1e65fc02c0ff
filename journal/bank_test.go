package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
)

// bank is the toy deterministic StateMachine the tests run: a fixed set of
// accounts and transfers between them. Its invariants are conservation (the
// balances always sum to bankTotal), idempotency (a transfer id applies at
// most once) and monotone engine time; a broken one panics, as the engine's
// would.
const (
	bankAccounts = 16
	bankOpening  = 1_000_000_000
	bankTotal    = bankAccounts * bankOpening
	bankCmdLen   = 14
)

// Transfer results.
const (
	resultOK        = 1
	resultRejected  = 2
	resultDuplicate = 3
)

type bank struct {
	bal  [bankAccounts]int64
	seen map[uint64]bool // transfer ids applied (ok or rejected)
	last int64           // engine time of the last command
}

func newBank() *bank {
	b := &bank{seen: map[uint64]bool{}}
	for i := range b.bal {
		b.bal[i] = bankOpening
	}
	return b
}

func newBankMachine() StateMachine { return newBank() }

// transfer encodes a command: id u64 ‖ from u8 ‖ to u8 ‖ amount u32.
func transfer(id uint64, from, to uint8, amount uint32) []byte {
	b := binary.LittleEndian.AppendUint64(nil, id)
	b = append(b, from%bankAccounts, to%bankAccounts)
	return binary.LittleEndian.AppendUint32(b, amount)
}

// bankApplies counts Apply calls across all banks (for tests that check
// nothing was applied).
var bankApplies atomic.Int64

func (b *bank) Apply(now int64, cmd []byte) ([]byte, []byte) {
	bankApplies.Add(1)
	if now < b.last {
		panic(fmt.Sprintf("bank: engine time went back from %d to %d", b.last, now))
	}
	b.last = now
	if len(cmd) != bankCmdLen {
		return []byte{resultRejected}, nil
	}
	id := binary.LittleEndian.Uint64(cmd)
	from, to := cmd[8]%bankAccounts, cmd[9]%bankAccounts
	amt := int64(binary.LittleEndian.Uint32(cmd[10:]))
	res := binary.LittleEndian.AppendUint64([]byte{0}, id)
	if b.seen[id] {
		res[0] = resultDuplicate
		return res, nil
	}
	b.seen[id] = true
	if b.bal[from] < amt {
		res[0] = resultRejected
		return res, nil
	}
	b.bal[from] -= amt
	b.bal[to] += amt
	res[0] = resultOK
	ev := binary.LittleEndian.AppendUint64(nil, id)
	ev = binary.LittleEndian.AppendUint64(ev, uint64(b.bal[from]))
	ev = binary.LittleEndian.AppendUint64(ev, uint64(b.bal[to]))
	b.check()
	return res, ev
}

func (b *bank) check() {
	var sum int64
	for _, v := range b.bal {
		sum += v
	}
	if sum != bankTotal {
		panic(fmt.Sprintf("bank: balances sum to %d, want %d", sum, bankTotal))
	}
}

func (b *bank) ids() []uint64 {
	ids := make([]uint64, 0, len(b.seen))
	for id := range b.seen {
		ids = append(ids, id)
	}
	slices.Sort(ids) // map order is random; hash and snapshot need one order
	return ids
}

func (b *bank) encode() []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(b.last))
	for _, v := range b.bal {
		out = binary.LittleEndian.AppendUint64(out, uint64(v))
	}
	ids := b.ids()
	out = binary.LittleEndian.AppendUint64(out, uint64(len(ids)))
	for _, id := range ids {
		out = binary.LittleEndian.AppendUint64(out, id)
	}
	return out
}

func (b *bank) Snapshot(w io.Writer) error {
	_, err := w.Write(b.encode())
	return err
}

func (b *bank) Restore(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(data) < 8*(bankAccounts+2) {
		return fmt.Errorf("bank: snapshot of %d bytes too short", len(data))
	}
	nb := newBank()
	nb.last = int64(binary.LittleEndian.Uint64(data))
	for i := range nb.bal {
		nb.bal[i] = int64(binary.LittleEndian.Uint64(data[8+8*i:]))
	}
	p := data[8*(bankAccounts+1):]
	n := binary.LittleEndian.Uint64(p)
	p = p[8:]
	if uint64(len(p)) != 8*n {
		return fmt.Errorf("bank: snapshot id list length mismatch")
	}
	for i := uint64(0); i < n; i++ {
		nb.seen[binary.LittleEndian.Uint64(p[8*i:])] = true
	}
	nb.check()
	*b = *nb
	return nil
}

func (b *bank) StateHash() [32]byte { return sha256.Sum256(b.encode()) }
